import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployLog } from '../../src/ui/log-file.js';
import { makeRedactor } from '../../src/ui/redact.js';

const at = (iso: string) => () => new Date(iso);

describe('deploy log (.ship/logs)', () => {
  it('is named for the release, holds every event and output line, redacted, without escape codes', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ship-logs-')), '.ship', 'logs');
    const log = deployLog({ dir, stage: 'production', kind: 'deploy', redact: makeRedactor(['s3cret']), now: at('2026-11-22T02:15:00Z') });
    log.emit({ event: 'host:connect', host: 'web1', ok: true, ms: 12 });
    expect(log.path).toBeUndefined(); // no release id yet: the name waits for it
    log.emit({ event: 'deploy:start', release: '20261122021500', revision: 'a'.repeat(40), hosts: ['web1'] });
    log.emit({ event: 'task:start', host: 'web1', task: 'build', command: 'echo s3cret' });
    log.emit({ event: 'output', host: 'web1', stream: 'stdout', line: 'using s3cret' });
    log.emit({ event: 'task:end', host: 'web1', task: 'build', ms: 5, exitCode: 0 });
    await log.close();
    expect(log.path).toBe(join(dir, 'production-20261122021500.log'));
    const text = readFileSync(log.path!, 'utf8');
    expect(text).toContain('[web1] connected (12ms)'); // events before the name are kept
    expect(text).toContain('[web1] build: echo [REDACTED]');
    expect(text).toContain('[web1] | using [REDACTED]');
    expect(text).not.toContain('s3cret');
    expect(text).not.toMatch(/\u001b\[/);
  });

  it('a rollback, or a deploy that ended before it had a release, is named for its start time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ship-logs-'));
    const rb = deployLog({ dir, stage: 'staging', kind: 'rollback', redact: (t) => t, now: at('2026-11-22T03:00:00Z') });
    rb.emit({ event: 'rollback:start', hosts: ['web1'], target: '20261122021500' });
    await rb.close();
    expect(rb.path).toBe(join(dir, 'staging-20261122030000-rollback.log'));
    const early = deployLog({ dir, stage: 'staging', kind: 'deploy', redact: (t) => t, now: at('2026-11-22T03:00:05Z') });
    early.emit({ event: 'host:connect', host: 'web1', ok: false, ms: 10, error: 'refused' });
    await early.close();
    expect(early.path).toBe(join(dir, 'staging-20261122030005.log'));
    expect(readFileSync(early.path!, 'utf8')).toContain('cannot connect: refused');
  });

  it('keeps the newest 50 logs of a stage, and never another stage’s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ship-logs-'));
    for (let i = 0; i < 60; i++) writeFileSync(join(dir, `prod-202611220${String(1000 + i).padStart(5, '0')}.log`), '');
    writeFileSync(join(dir, 'prod-eu-20261122000000.log'), '');
    const log = deployLog({ dir, stage: 'prod', kind: 'deploy', redact: (t) => t, now: at('2026-11-23T00:00:00Z') });
    await log.close();
    const left = readdirSync(dir);
    expect(left.filter((f) => /^prod-\d/.test(f))).toHaveLength(50);
    expect(left).toContain('prod-eu-20261122000000.log');
    expect(left).toContain('prod-20261123000000.log');
  });

  it('a log that cannot be written does not stop the run: it says why', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ship-logs-'));
    mkdirSync(join(base, 'ro'));
    writeFileSync(join(base, 'ro', 'logs'), 'a file where the directory should be');
    const log = deployLog({ dir: join(base, 'ro', 'logs'), stage: 'prod', kind: 'deploy', redact: (t) => t });
    log.emit({ event: 'deploy:start', release: '20261122021500', revision: 'a'.repeat(40), hosts: ['web1'] });
    await log.close();
    expect(log.path).toBeUndefined();
    expect(log.error).toMatch(/EEXIST|ENOTDIR/);
    expect(existsSync(join(base, 'ro', 'logs'))).toBe(true);
  });
});

describe('deploy log files are one per run', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'ship-logs-'));
  const run = async (d: string, kind: 'deploy' | 'rollback', text: string) => {
    const log = deployLog({ dir: d, stage: 'prod', kind, redact: (t) => t, now: at('2026-11-22T03:00:00Z') });
    log.emit({ event: 'log', level: 'info', message: text });
    await log.close();
    return log.path!;
  };

  it('two runs in one second get two files, each with its own lines only', async () => {
    const d = dir();
    const [a, b] = [await run(d, 'rollback', 'first run'), await run(d, 'rollback', 'second run')];
    expect(a).not.toBe(b);
    expect(b).toBe(join(d, 'prod-20261122030000-rollback-2.log'));
    expect(readFileSync(a, 'utf8')).toContain('first run');
    expect(readFileSync(a, 'utf8')).not.toContain('second run');
    expect(readFileSync(b, 'utf8')).not.toContain('first run');
  });

  it('a run never appends to an existing log of the same name (an interrupted run after a good one)', async () => {
    const d = dir();
    writeFileSync(join(d, 'prod-20261122030000.log'), 'the good run\n');
    const p = await run(d, 'deploy', 'interrupted run');
    expect(p).not.toBe(join(d, 'prod-20261122030000.log'));
    expect(readFileSync(join(d, 'prod-20261122030000.log'), 'utf8')).toBe('the good run\n');
  });

  it('is readable by the deploying user only (0600), in a 0700 directory it creates', async () => {
    const d = join(dir(), 'logs');
    const p = await run(d, 'deploy', 'x');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(statSync(d).mode & 0o777).toBe(0o700);
  });
});
