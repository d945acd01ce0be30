/** ship logs: where a stage's logs are, the commands that read them, and the merge by time. */
import { describe, expect, it } from 'vitest';
import { logSource, logsCommand, mergeByTime } from '../../src/ops/logs.js';
import { serverPaths } from '../../src/release/paths.js';
import { render } from '../../src/shell/render.js';
import { judgeRotatedLogs } from '../../src/setup/check/judge.js';
import { logRotation } from '../../src/setup/plan.js';
import { localStage } from '../helpers/stage.js';

const paths = serverPaths('/srv/app');
const source = (vars: Record<string, string>) => {
  const s = localStage('/repo', 1, { vars });
  return logSource(s, s.hosts[0]!);
};

describe('logSource', () => {
  it('follows the restart method unless vars.logs says otherwise', () => {
    expect(source({})).toEqual({ kind: 'files', globs: ['shared/log/*.log'] });
    expect(source({ restart_with: 'pm2', service: 'web' })).toEqual({ kind: 'pm2', app: 'web' });
    expect(source({ restart_with: 'systemd' })).toEqual({ kind: 'journald', unit: 'demo' });
    expect(source({ restart_with: 'systemd', logs: 'files', log_files: 'shared/log/*.log current/log/*.txt' })).toEqual({
      kind: 'files',
      globs: ['shared/log/*.log', 'current/log/*.txt'],
    });
  });
  it('refuses globs that are more than globs, and unknown sources', () => {
    expect(() => source({ log_files: 'shared/log/$(reboot).log' })).toThrow(
      /^vars\.log_files: "shared\/log\/\$\(reboot\)\.log": expected globs under deploy_to/,
    );
    expect(() => source({ log_files: '../../etc/*' })).toThrow(/^vars\.log_files/);
    expect(() => source({ logs: 'syslog' })).toThrow('vars.logs: "syslog" is not a log source (files, pm2 or journald)');
  });
});

describe('logsCommand', () => {
  it('quotes the pattern, follows with tail -F and a line-buffered grep', () => {
    const text = render(logsCommand({ kind: 'files', globs: ['shared/log/*.log'] }, paths, { lines: 5, follow: true, grep: "it's $HOME" }));
    expect(text).toContain('set -- shared/log/*.log');
    expect(text).toContain(`tail -q -n 5 -F -- "$@" | grep --line-buffered -E -- 'it'\\''s $HOME'`);
    expect(render(logsCommand({ kind: 'journald', unit: 'shop' }, paths, { lines: 100, follow: false, grep: 'ERR' }))).toBe(
      'journalctl --unit=shop --no-pager --output=short-iso | grep -E -- ERR | tail -n 100',
    );
    expect(render(logsCommand({ kind: 'pm2', app: 'shop.api' }, paths, { lines: 3, follow: false }))).toContain('set -- shop-api-out.log shop-api-error.log');
  });
});

describe('mergeByTime', () => {
  it('orders lines by their leading timestamp, keeping untimed lines after their parent', () => {
    const a = [{ host: 'a', stream: 'stdout' as const, line: '2026-11-30 10:00:03 late' }];
    const b = [
      { host: 'b', stream: 'stdout' as const, line: '[2026-11-30T10:00:01.5] early' },
      { host: 'b', stream: 'stdout' as const, line: '  at frame' },
      { host: 'b', stream: 'stdout' as const, line: '2026-11-30T10:00:04 last' },
    ];
    expect(mergeByTime([a, b]).map((l) => l.line)).toEqual([
      '[2026-11-30T10:00:01.5] early',
      '  at frame',
      '2026-11-30 10:00:03 late',
      '2026-11-30T10:00:04 last',
    ]);
  });
});

describe('log rotation', () => {
  it('reads its settings from vars, with defaults, refusing what logrotate would not take', () => {
    expect(logRotation({ vars: {} }, { vars: {} })).toEqual({ rotate: 14, maxAgeDays: 30, maxSize: '100M', maxSizeBytes: 100 * 1024 ** 2, compress: true });
    expect(logRotation({ vars: { log_rotate: '3', log_compress: 'false' } }, { vars: { log_max_size: '500k' } })).toMatchObject({
      rotate: 3,
      compress: false,
      maxSizeBytes: 500 * 1024,
    });
    expect(() => logRotation({ vars: { log_max_size: '100MB' } }, { vars: {} })).toThrow(/^vars\.log_max_size: expected a size logrotate reads/);
    expect(() => logRotation({ vars: { log_rotate: '0' } }, { vars: {} })).toThrow('vars.log_rotate: expected a whole number ≥ 1, got "0"');
  });
  it('judges a big log without a rotated copy: a warning just past maxsize, a failure past twice it', () => {
    expect(judgeRotatedLogs([], 1000, '1000', '/srv/app/shared/log').detail).toBe('no logs in /srv/app/shared/log yet');
    expect(judgeRotatedLogs([{ name: 'app.log', bytes: 1500, rotated: 0 }], 1000, '1000', 'd').status).toBe('warn');
    expect(judgeRotatedLogs([{ name: 'app.log', bytes: 2500, rotated: 0 }], 1000, '1000', 'd').status).toBe('fail');
    expect(judgeRotatedLogs([{ name: 'app.log', bytes: 2500, rotated: 2 }], 1000, '1000', 'd')).toEqual({
      status: 'pass',
      detail: '1 log(s), largest app.log 2.4 KB, 2 rotated copies',
    });
  });
});
