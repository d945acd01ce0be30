// The example app ship deploys in its quick start: a tiny HTTP server with a /health route.
// It answers 503 on /health when the release holds a file named UNHEALTHY, so a failing
// health check (and ship's automatic rollback) can be tried by hand.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.env.PORT || 3917);
const revision = existsSync('REVISION') ? readFileSync('REVISION', 'utf8').trim() : 'unknown';
const release = process.env.SHIP_RELEASE || 'unknown';

const server = createServer((req, res) => {
  // which release answers: a health check can require it (expect.header: { x-release: "{{release}}" })
  res.setHeader('x-release', release);
  if (req.url === '/health') {
    const ok = !existsSync('UNHEALTHY');
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
    return res.end(ok ? `ok ${release} ${revision}\n` : 'unhealthy\n');
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`hello from release ${release} (${revision.slice(0, 12)})\n`);
});

server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}, release ${release}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
