import { describe, expect, test } from 'vitest';
import { serverPaths } from '../../src/release/paths.js';
import { render } from '../../src/shell/render.js';
import {
  humanBytes,
  judgeBackup,
  judgeCertificate,
  judgeDisk,
  judgeLock,
  judgeLogrotate,
  judgeGitVersion,
  judgePrograms,
  judgeWritable,
  parseDf,
} from '../../src/setup/check/judge.js';
import { checkProbe, parseCheckProbe, type ProbeInput } from '../../src/setup/check/probe.js';
import { programsFor } from '../../src/setup/check/run.js';
import type { HostConfig, StageConfig } from '../../src/config/types.js';
import type { StepOutcome } from '../../src/engine/index.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const DAY = 86_400_000;

describe('disk', () => {
  const df = `Filesystem     1024-blocks     Used Available Capacity Mounted on
/dev/vda         264212084 22913708  83477204      22% /
`;
  test('df -Pk: the available column, in bytes, and the mount point (spaces allowed)', () => {
    expect(parseDf(df)).toEqual({ availableBytes: 83477204 * 1024, mount: '/' });
    expect(parseDf('Filesystem 1024-blocks Used Available Capacity Mounted on\nmy fs 100 50 50 50% /mnt/my disk\n')).toEqual({
      availableBytes: 51200,
      mount: '/mnt/my disk',
    });
    expect(parseDf('df: /nope: No such file or directory\n')).toBeUndefined();
  });

  test('below the floor fails with both values; above passes with the measured value', () => {
    expect(judgeDisk(parseDf(df), 100 * 1024 ** 4, '/srv/app')).toEqual({
      status: 'fail',
      detail: '79.6 GB free on /, below the floor of 100 TB (check.disk_min)',
    });
    expect(judgeDisk(parseDf(df), 1024 ** 3, '/srv/app')).toEqual({ status: 'pass', detail: '79.6 GB free on / (floor 1.0 GB)' });
    expect(judgeDisk(undefined, 1, '/srv/app').status).toBe('fail');
    expect(humanBytes(512)).toBe('512 B');
    expect(humanBytes(1536)).toBe('1.5 KB');
  });
});

describe('certificates', () => {
  const cert = (days: number, untrusted?: string) => ({ validTo: new Date(NOW.getTime() + days * DAY + 3600_000), ...(untrusted ? { untrusted } : {}) });
  test('under 14 days fails, under 30 warns, else passes: always with the days left and the date', () => {
    expect(judgeCertificate(cert(5), NOW)).toEqual({ status: 'fail', detail: 'expires in 5 day(s) (2026-11-27): renew it, under 14 days left' });
    expect(judgeCertificate(cert(13), NOW).status).toBe('fail');
    expect(judgeCertificate(cert(14), NOW).status).toBe('warn');
    expect(judgeCertificate(cert(29), NOW)).toEqual({ status: 'warn', detail: 'expires in 29 day(s) (2026-12-21): renew it soon' });
    expect(judgeCertificate(cert(30), NOW)).toEqual({ status: 'pass', detail: 'expires in 30 day(s) (2026-12-22)' });
    expect(judgeCertificate(cert(-3), NOW).detail).toMatch(/^expired 3 day\(s\) ago/);
  });
  test('an untrusted certificate fails even with years left, and says why', () => {
    expect(judgeCertificate(cert(400, 'DEPTH_ZERO_SELF_SIGNED_CERT'), NOW)).toEqual({
      status: 'fail',
      detail: 'not trusted from here: DEPTH_ZERO_SELF_SIGNED_CERT; expires in 400 day(s) (2027-12-27)',
    });
  });
});

describe('locks', () => {
  const ctx = { now: NOW, machine: 'laptop', alive: (pid: number) => pid === 42, stage: 'production' };
  const owner = (o: object) =>
    JSON.stringify({ user: 'alice', machine: 'laptop', pid: 42, started: '2026-11-22T11:00:00Z', command: 'deploy', token: 't', ...o });
  test('no lock passes; any lock fails naming who and since when', () => {
    expect(judgeLock('', ctx)).toEqual({ status: 'pass', detail: 'not locked' });
    expect(judgeLock(owner({}), ctx)).toEqual({
      status: 'fail',
      detail: 'locked, held by alice on laptop (pid 42, deploy) since 2026-11-22T11:00:00Z (1h0m ago): if that run is dead, ship unlock production',
    });
  });
  test('a lock taken on this machine by a process that is gone is stale', () => {
    expect(judgeLock(owner({ pid: 7 }), ctx).detail).toMatch(/^stale lock held by alice .*; its process is gone: ship unlock production$/);
    // on another machine the pid means nothing here
    expect(judgeLock(owner({ pid: 7, machine: 'ci-runner' }), ctx).detail).toMatch(/^locked, held by alice on ci-runner/);
  });
  test('`ship lock` is a maintenance window, with its reason', () => {
    expect(judgeLock(owner({ command: 'lock', reason: 'db upgrade' }), ctx).detail).toMatch(/^locked for maintenance, held by .*: db upgrade$/);
  });
});

describe('backups, programs, deploy_to, logrotate', () => {
  const hostNow = NOW.getTime() / 1000;
  test("the newest backup is judged by its age on the host's clock against backup_max_age", () => {
    const limit = 26 * 3600_000;
    expect(judgeBackup({ hostNow, newest: { name: 'db-1.sql.gz', mtime: hostNow - 3 * 3600 } }, limit, '/srv/app/shared/backups')).toEqual({
      status: 'pass',
      detail: 'newest db-1.sql.gz is 3h0m old (limit 26h)',
    });
    expect(judgeBackup({ hostNow, newest: { name: 'old.sql.gz', mtime: hostNow - 2 * 86400 } }, limit, 'b').status).toBe('fail');
    expect(judgeBackup({ hostNow }, limit, '/srv/app/shared/backups')).toEqual({ status: 'fail', detail: 'no backup in /srv/app/shared/backups' });
  });
  test('programs: pm2 is needed where the app runs under it', () => {
    const stage = { strategy: 'remote', vars: { restart_with: 'pm2' } } as unknown as StageConfig;
    const host = { vars: {} } as unknown as HostConfig;
    expect(programsFor(stage, host, { requires: ['node', 'npm'] })).toEqual(['git', 'tar', 'node', 'npm', 'pm2']);
    expect(programsFor({ ...stage, strategy: 'upload' }, { vars: { restart_with: 'command' } } as unknown as HostConfig, { requires: ['node'] })).toEqual([
      'tar',
      'node',
    ]);
  });
  test('programs: every missing one is named', () => {
    expect(judgePrograms({ git: '/usr/bin/git', tar: '/bin/tar' }, ['git', 'tar'])).toEqual({ status: 'pass', detail: 'git /usr/bin/git, tar /bin/tar' });
    expect(judgePrograms({ git: '/usr/bin/git' }, ['git', 'tar', 'bundle'])).toEqual({
      status: 'fail',
      detail: 'missing: tar, bundle; found git /usr/bin/git',
    });
  });
  test('git: its version is reported, and one too old for strategy remote fails', () => {
    expect(judgeGitVersion('1.8.3.1')).toEqual({ status: 'pass', detail: 'git 1.8.3.1' });
    expect(judgeGitVersion('2.39.5').status).toBe('pass');
    expect(judgeGitVersion('1.6.0').status).toBe('pass');
    expect(judgeGitVersion('1.5.6.5')).toEqual({
      status: 'fail',
      detail: 'git 1.5.6.5 is older than 1.6.0, the oldest strategy: remote works with (git clone --mirror): install a newer git, or use strategy: upload',
    });
  });
  test('git: the version is read from the probe', () => {
    const input: ProbeInput = {
      paths: serverPaths('/srv/app'),
      programs: ['git', 'tar'],
      logrotate: { system: '/etc/logrotate.d/app', user: '/x', logDir: '/srv/app/shared/log' },
      sshdConfig: '/etc/ssh/sshd_config',
      audit: false,
    };
    const labels = checkProbe(input).map((s) => s.label);
    expect(labels).toContain('git');
    const steps = labels.map((label) => ({ label, stdout: label === 'git' ? 'git version 1.8.3.1\n' : '' })) as unknown as StepOutcome[];
    expect(parseCheckProbe(input, steps).gitVersion).toBe('1.8.3.1');
  });
  test('deploy_to: missing but creatable warns; not writable fails', () => {
    expect(judgeWritable({ exists: true, writable: true, nearest: '/srv/app' }, '/srv/app', 'deploy').status).toBe('pass');
    expect(judgeWritable({ exists: true, writable: false, nearest: '/srv/app' }, '/srv/app', 'deploy')).toEqual({
      status: 'fail',
      detail: '/srv/app is not writable by deploy',
    });
    expect(judgeWritable({ exists: false, writable: true, nearest: '/srv' }, '/srv/app', 'deploy').status).toBe('warn');
    expect(judgeWritable({ exists: false, writable: false, nearest: '/' }, '/srv/app', 'deploy').status).toBe('fail');
    expect(judgeWritable({ exists: true, writable: true, nearest: '/srv/app', unwritable: ['.ship', 'shared'] }, '/srv/app', 'deploy')).toEqual({
      status: 'fail',
      detail: '/srv/app/.ship, /srv/app/shared not writable by deploy (owned by another user, read-only or full): deploys will fail until it is',
    });
  });
  test('logrotate: a rule must cover shared/log; without logrotate the check says it cannot run', () => {
    const where = { system: '/etc/logrotate.d/ship-demo-production', user: '/srv/app/.ship/logrotate.conf', logDir: '/srv/app/shared/log' };
    const none = { systemRule: false, mentions: [], userRule: false, scheduled: false };
    expect(judgeLogrotate(none, where)).toEqual({ status: 'warn', detail: 'cannot check: logrotate is not installed on this host' });
    const facts = { ...none, program: '/usr/sbin/logrotate' };
    expect(judgeLogrotate(facts, where)).toEqual({ status: 'fail', detail: 'no logrotate rule covers /srv/app/shared/log: run ship setup' });
    expect(judgeLogrotate({ ...facts, systemRule: true }, where).status).toBe('pass');
    expect(judgeLogrotate({ ...facts, mentions: ['/etc/logrotate.d/myapp'] }, where)).toEqual({
      status: 'pass',
      detail: '/etc/logrotate.d/myapp mention /srv/app/shared/log',
    });
    expect(judgeLogrotate({ ...facts, userRule: true }, where).status).toBe('warn');
    expect(judgeLogrotate({ ...facts, userRule: true, scheduled: true }, where).status).toBe('pass');
  });
});

describe('the probe script', () => {
  const input: ProbeInput = {
    paths: serverPaths("/srv/it's app"),
    programs: ['git', 'tar', 'node'],
    logrotate: { system: '/etc/logrotate.d/ship-demo-production', user: "/srv/it's app/.ship/logrotate.conf", logDir: "/srv/it's app/shared/log" },
    backups: "/srv/it's app/shared/backups",
    sshdConfig: '/etc/ssh/sshd_config',
    audit: false,
  };
  test('one step per question, every path quoted, every step ending in exit 0', () => {
    const steps = checkProbe(input);
    expect(steps.map((s) => s.label)).toEqual([
      'whoami',
      'deploy_to',
      'disk',
      'programs',
      'lock',
      'current',
      'logrotate',
      'backups',
      'git',
      'logs',
      'sshd',
      'updates',
    ]);
    const disk = render(steps[2]!.command);
    expect(disk).toBe(`__d='/srv/it'\\''s app'; while [ ! -e "$__d" ]; do __d=$(dirname -- "$__d"); done\ndf -Pk -- "$__d"\nexit 0`);
    const q = (path: string) => `'/srv/it'\\''s app/${path}'`;
    expect(render(steps[5]!.command)).toBe(
      `if __c=$(readlink ${q('current')} 2>/dev/null); then printf 'current %s\\n' "$__c"; fi\n` +
        `printf 'revision %s\\n' "$(head -c 64 ${q('current/REVISION')} 2>/dev/null | tr -dc 0-9a-f)"\nexit 0`,
    );
    expect(render(steps[6]!.command)).toBe(
      `if [ -f /etc/logrotate.d/ship-demo-production ]; then echo system; fi\n` +
        `grep -lF -- ${q('shared/log')} /etc/logrotate.conf /etc/logrotate.d/* 2>/dev/null | sed 's/^/mentions /'\n` +
        `if [ -f ${q('.ship/logrotate.conf')} ]; then echo user; fi\n` +
        `if crontab -l 2>/dev/null | grep -qF -- ${q('.ship/logrotate.conf')}; then echo scheduled; fi\nexit 0`,
    );
    expect(render(steps[7]!.command)).toBe(
      `printf 'now %s\\n' "$(date +%s)"\n` +
        `__n=$(ls -1t -- ${q('shared/backups')} 2>/dev/null | head -n 1)\n` +
        `if [ -n "$__n" ]; then printf 'newest %s %s\\n' "$(date -r ${q('shared/backups')}/"$__n" +%s)" "$__n"; fi\nexit 0`,
    );
    expect(checkProbe({ ...input, backups: undefined } as ProbeInput).map((s) => s.label)).not.toContain('backups');
  });

  test('its output becomes facts', () => {
    const out = (label: string, stdout: string): StepOutcome => ({ label, exitCode: 0, ms: 1, stdout, stderr: '' });
    const facts = parseCheckProbe(input, [
      out('whoami', 'user deploy\n'),
      out('deploy_to', "nearest /srv/it's app\nexists\nwritable\n"),
      out('disk', 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 100 50 50 50% /srv\n'),
      out('programs', 'program git /usr/bin/git\nprogram tar /bin/tar\nprogram node \nprogram logrotate /usr/sbin/logrotate\n'),
      out('lock', ''),
      out('current', "current /srv/it's app/releases/20261122021500\nrevision 9f1c2e\n"),
      out('logrotate', 'mentions /etc/logrotate.d/other\nuser\nscheduled\n'),
      out('backups', 'now 1800000000\nnewest 1799990000 db 1.sql\n'),
      out('logs', 'log 2048 1 app.log\nlog 10 0 my worker.log\n'),
      out('sshd', 'source sshd -T\npasswordauthentication no\nusepam yes\n'),
      out(
        'updates',
        'lists 1800000000\nInst libssl3 [3.0.11-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])\nInst tzdata [2024a-0] (2025b-0 Debian:12.11/stable [all])\n',
      ),
    ]);
    expect(facts).toEqual({
      user: 'deploy',
      deployTo: { exists: true, writable: true, nearest: "/srv/it's app", unwritable: [] },
      df: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 100 50 50 50% /srv\n',
      programs: { git: '/usr/bin/git', tar: '/bin/tar', node: undefined, logrotate: '/usr/sbin/logrotate' },
      lock: '',
      current: '20261122021500',
      revision: '9f1c2e',
      logrotate: { program: '/usr/sbin/logrotate', systemRule: false, mentions: ['/etc/logrotate.d/other'], userRule: true, scheduled: true },
      backups: { hostNow: 1800000000, newest: { mtime: 1799990000, name: 'db 1.sql' } },
      logs: [
        { bytes: 2048, rotated: 1, name: 'app.log' },
        { bytes: 10, rotated: 0, name: 'my worker.log' },
      ],
      sshd: { source: 'sshd -T', settings: { passwordauthentication: 'no', usepam: 'yes' } },
      updates: { apt: true, listsAt: 1800000000, security: ['libssl3'], other: 1 },
    });
  });
});
