/**
 * Health checks whose URL names a host the host itself cannot resolve (`{{host}}` is the
 * deploy.yaml name, often an alias of this machine's ssh config): the check stops at the first
 * such answer with a hint, rather than asking again until its timeout. And the plain output
 * folds repeated identical attempts into one line.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { HealthSettings } from '../../src/config/types.js';
import { checkHealth } from '../../src/health/check.js';
import { plainReporter } from '../../src/ui/reporter.js';
import type { ShipEvent } from '../../src/ui/events.js';
import type { Transport } from '../../src/transport/types.js';
import { fakeClock, localStage, recordingEnv } from '../helpers/stage.js';

const health = (http: string): HealthSettings => ({ http, expect: { status: 200 }, timeoutMs: 60_000, intervalMs: 1000 });

/** A transport whose GETs fail as OpenSSH reports a name the server cannot resolve. */
function failingTransport(message: string): Transport & { gets: number } {
  const t = {
    host: 'web1',
    address: '10.0.0.5',
    gets: 0,
    connect: async () => {},
    runScript: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
    runWithInput: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
    httpGet: async (url: string) => {
      t.gets++;
      throw new Error(`GET ${url} from web1: ${message}`);
    },
    tcpProbe: async () => {},
    close: async () => {},
  };
  return t;
}

describe('a health URL the host cannot resolve', () => {
  const stage = localStage('/nonexistent', 1);

  for (const message of ['Name or service not known', 'Temporary failure in name resolution', 'Could not resolve host: web1']) {
    it(`fails at the first attempt, with the hint to use 127.0.0.1 or {{address}} (${message})`, async () => {
      const rec = recordingEnv(stage, { clock: fakeClock() });
      const transport = failingTransport(message);
      const r = await checkHealth(rec.env, {
        host: 'web1',
        transport,
        health: health('http://{{host}}:3000/health'),
        values: { host: 'web1', address: '10.0.0.5' },
      });
      expect(r.ok).toBe(false);
      expect(transport.gets).toBe(1);
      expect(r.last.detail).toContain('web1 cannot resolve "web1"');
      expect(r.last.detail).toContain('{{host}} is the name in deploy.yaml');
      expect(r.last.detail).toContain('http://127.0.0.1:3000/health');
      expect(r.last.detail).toContain('{{address}} (10.0.0.5 here)');
    });
  }

  it('a refused connection is asked again until the timeout (the app may still be starting)', async () => {
    const rec = recordingEnv(stage, { clock: fakeClock() });
    const transport = failingTransport('Connection refused');
    const r = await checkHealth(rec.env, { host: 'web1', transport, health: health('http://127.0.0.1:3000/health'), values: {} });
    expect(r.ok).toBe(false);
    expect(transport.gets).toBe(61);
  });
});

describe('plain output of health attempts', () => {
  it('folds repeated identical failures into one line; a new answer gets its own', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const r = plainReporter({ stage: 'production', out, redact: (s) => s, now: () => new Date('2026-11-30T00:00:00Z') });
    const attempt = (n: number, detail: string, extra: Partial<ShipEvent> = {}) =>
      r.emit({ event: 'health', host: 'web1', ok: false, attempt: n, detail, ...extra } as ShipEvent);
    for (let n = 1; n <= 20; n++) attempt(n, 'GET http://127.0.0.1:3000/: connect failed: Connection refused');
    for (let n = 21; n <= 30; n++) attempt(n, 'HTTP 502 (expected 200)');
    attempt(30, 'HTTP 502 (expected 200)', { final: true });
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('[web1] health attempt 1: GET http://127.0.0.1:3000/: connect failed: Connection refused (asking again until healthy)');
    expect(lines[1]).toContain('[web1] health attempt 21: HTTP 502 (expected 200) (asking again until healthy)');
    expect(lines[2]).toContain('[web1] unhealthy after 30 attempt(s): HTTP 502 (expected 200)');
  });
});
