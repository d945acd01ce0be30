/** notify.webhook: a JSON summary posted after every deploy and rollback, never failing one. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';

describe('notify webhook', () => {
  let server: Server;
  let url = '';
  const received: Record<string, unknown>[] = [];
  let repo: FixtureRepo;
  let work: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ ...(JSON.parse(body) as Record<string, unknown>), path: req.url, type: req.headers['content-type'] });
        res.writeHead(req.url === '/broken' ? 500 : 200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    repo = fixtureRepo({ withApp: false });
    work = mkdtempSync(join(tmpdir(), 'ship-notify-'));
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: demo
repo: ${repo.dir}
notify:
  webhook: \${HOOK_URL}
tasks:
  build: test ! -e FAIL
stages:
  local:
    strategy: upload
    hosts: [{ host: localhost, local: true, deploy_to: ./.ship/local }]
`,
    );
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const ship = (hook: string, ...args: string[]) => runShip(args, { cwd: work, env: { HOME: work, HOOK_URL: hook } });

  it('posts a summary with a Slack text on success, and on failure', async () => {
    const ok = await ship(`${url}/hooks/T000/B000/xyzzy-token`, 'deploy', 'local');
    expect(ok.code, ok.stderr).toBe(0);
    expect(received.at(-1)).toMatchObject({
      path: '/hooks/T000/B000/xyzzy-token',
      type: 'application/json',
      app: 'demo',
      stage: 'local',
      action: 'deploy',
      ok: true,
      exitCode: 0,
      revision: repo.head(),
      current: { localhost: expect.stringMatching(/^\d{14}$/) },
      text: expect.stringMatching(/^✅ deploy of demo to local \(release \d{14}, [0-9a-f]{12}\) succeeded by \S+ in [\d.]+s on 1 host$/),
    });
    repo.commit({ FAIL: 'yes' });
    const bad = await ship(`${url}/hooks/T000/B000/xyzzy-token`, 'deploy', 'local');
    expect(bad.code).toBe(1);
    expect(received.at(-1)).toMatchObject({
      ok: false,
      exitCode: 1,
      text: expect.stringMatching(/^❌ deploy of demo to local .*failed before publish \(nothing changed\)/),
    });
    repo.remove('FAIL');
    const rb = await ship(`${url}/hooks/T000/B000/xyzzy-token`, 'rollback', 'local');
    expect(received.at(-1)).toMatchObject({ action: 'rollback', exitCode: rb.code });
  });

  it('a webhook that fails only warns, and its URL (a credential) is never printed', async () => {
    const r = await ship(`${url}/broken`, 'deploy', 'local');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/the notify webhook answered HTTP 500/);
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const down = await ship(`http://127.0.0.1:${closed}/xyzzy-down`, 'deploy', 'local');
    expect(down.code).toBe(0);
    expect(down.stdout + down.stderr).toMatch(/the notify webhook could not be reached \(ECONNREFUSED\)/);
    expect(down.stdout + down.stderr).not.toContain('xyzzy-down');
  });
});
