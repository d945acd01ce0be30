/**
 * Redaction: secrets that span lines, secrets inside JSON, and secrets too short to redact.
 */
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problem.js';
import { resolveStage } from '../../src/config/resolve.js';
import { postWebhook } from '../../src/notify/webhook.js';
import { jsonWriter } from '../../src/ui/reporter.js';
import { makeRedactor } from '../../src/ui/redact.js';

const PEM = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACDc0h0DjD8yq0mF1Jb5uTQe3d5A0Ycv8aF6Z2m2a9rWxQAAAJgAAAAAAAAA',
  'AA==',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');
const CREDENTIALS = JSON.stringify({ type: 'service_account', private_key_id: 'f2a1c0d9e8b7a6f5e4d3c2b1a0', client_email: 'ship@demo.iam' }, null, 2);

describe('secrets that span lines', () => {
  const redact = makeRedactor([PEM, CREDENTIALS]);

  it('every line of a PEM key of useful length is redacted when output comes line by line', () => {
    const printed = PEM.split('\n').map((l) => redact(`| ${l}`));
    expect(printed.join('\n')).not.toMatch(/b3BlbnNz|QyNTUxOQ|PRIVATE KEY/);
    expect(printed[1]).toBe('| [REDACTED]');
    expect(printed[3]).toBe('| AA=='); // four characters of base64 padding say nothing
  });

  it('a JSON credential printed line by line, or whole, or inside a JSON string', () => {
    for (const line of CREDENTIALS.split('\n')) expect(redact(line)).not.toContain('f2a1c0d9e8b7a6f5e4d3c2b1a0');
    expect(redact(`key=${CREDENTIALS}`)).toBe('key=[REDACTED]');
    expect(redact(JSON.stringify({ env: CREDENTIALS }))).not.toContain('f2a1c0d9');
    expect(redact('{')).toBe('{'); // short lines of the secret are left alone
  });
});

describe('--json redacts values before serialising', () => {
  const lines = (secret: string, e: Record<string, unknown>) => {
    let text = '';
    const out = new Writable({
      write(c, _e, done) {
        text += c.toString();
        done();
      },
    });
    jsonWriter({ stage: 'prod', out, redact: makeRedactor([secret]), now: () => new Date(0) })(e as never);
    return text;
  };

  it('a secret equal to a JSON word (true, null) cannot corrupt the line', () => {
    for (const secret of ['true', 'null', 'false']) {
      const text = lines(secret, { event: 'deploy:end', ok: true, exitCode: 0, current: { web1: null }, error: `it was ${secret}` });
      const parsed = JSON.parse(text) as Record<string, unknown>;
      expect(parsed).toMatchObject({ ok: true, exitCode: 0, current: { web1: null }, error: 'it was [REDACTED]' });
    }
  });

  it('keys are redacted too (a host named by a secret)', () => {
    const text = lines('s3cr3t-host', { event: 'deploy:end', ok: true, exitCode: 0, current: { 's3cr3t-host': '20261122021500' } });
    expect(text).not.toContain('s3cr3t-host');
    expect(JSON.parse(text)).toMatchObject({ current: { '[REDACTED]': '20261122021500' } });
  });

  it('the webhook body is valid JSON whatever the secret', async () => {
    let body = '';
    const server = createServer((req, res) => {
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const summary = { app: 'demo', stage: 'prod', action: 'deploy', ok: true, exitCode: 0, user: 'me', ms: 5, current: {}, text: 'deploy done' } as never;
      expect(await postWebhook(`http://127.0.0.1:${port}/hook`, summary, makeRedactor(['true']))).toBeUndefined();
    } finally {
      server.close();
    }
    expect(JSON.parse(body)).toMatchObject({ ok: true, exitCode: 0 });
  });
});

describe('a secret shorter than 4 characters', () => {
  const problems = (value: string) => {
    const parsed = parseConfig({
      text: 'app: demo\nrepo: https://example.com/demo.git\ndeploy_to: /srv/demo\nenv:\n  DB_PASSWORD: ${PW}\nsecrets: [DB_PASSWORD]\nstages:\n  prod:\n    hosts: [web1]\n',
      path: 'deploy.yaml',
      cwd: '/proj',
      env: { PW: value },
    });
    if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    const r = resolveStage(parsed.config, 'prod', { homedir: '/home/me' });
    return r.ok ? [] : r.problems.map(formatProblem);
  };

  it('is refused where it is written, without showing it', () => {
    const p = problems('abc');
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^deploy\.yaml:5:\d+ env\.DB_PASSWORD: secret "DB_PASSWORD" is shorter than 4 characters/);
    expect(p[0]).not.toContain('abc');
  });

  it('four characters are accepted; the redactor never mangles text with a shorter value', () => {
    expect(problems('abcd')).toEqual([]);
    expect(makeRedactor(['ab'])('about a cab')).toBe('about a cab');
  });
});
