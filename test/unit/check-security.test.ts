/** ship check's security items and its alerts: sshd settings, security updates, npm audit, the alert decisions. Pure. */
import { describe, expect, it } from 'vitest';
import { alertStateFile, decideAlert } from '../../src/notify/check-alerts.js';
import { judgeAudit, parseAudit } from '../../src/setup/check/audit.js';
import type { CheckItem } from '../../src/setup/check/judge.js';
import { judgeSshd, judgeUpdates, parseSshdProbe, parseUpdates } from '../../src/setup/check/security.js';

describe('password login', () => {
  it('reads the config like sshd: first value wins, Match blocks are not global, comments ignored', () => {
    const f = parseSshdProbe(
      [
        'source /etc/ssh/sshd_config',
        'line # PasswordAuthentication yes',
        'line PasswordAuthentication no',
        'line passwordauthentication yes',
        'line Match User git',
        'line UsePAM yes',
      ].join('\n'),
    );
    expect(f).toEqual({ source: '/etc/ssh/sshd_config', settings: { passwordauthentication: 'no' } });
    expect(judgeSshd(f)).toEqual({
      status: 'pass',
      detail: 'password login disabled (PasswordAuthentication no), from /etc/ssh/sshd_config (sshd -T needs root here)',
    });
  });
  it('fails when password login is on, by default or through PAM; says which source it read', () => {
    expect(judgeSshd({ source: 'sshd -T', settings: {} }).detail).toBe(
      'password login is allowed: PasswordAuthentication is not set (the default is yes), from sshd -T: set PasswordAuthentication no and reload sshd',
    );
    expect(judgeSshd({ source: 'sshd -T', settings: { passwordauthentication: 'no', usepam: 'yes' } }).status).toBe('fail');
    expect(judgeSshd({ source: 'sshd -T', settings: { passwordauthentication: 'no', usepam: 'yes', kbdinteractiveauthentication: 'no' } }).status).toBe('pass');
    expect(judgeSshd({ unreadable: '/etc/ssh/sshd_config', settings: {} })).toEqual({
      status: 'warn',
      detail: 'cannot tell: sshd -T needs root here and /etc/ssh/sshd_config is not readable',
    });
  });
});

describe('security updates', () => {
  it('counts the upgrades whose origin is a security archive, Debian or Ubuntu', () => {
    const u = parseUpdates(
      [
        'lists 1800000000',
        'Inst libssl3 [3.0.11-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])',
        'Inst openssh-client [1:8.9p1-3ubuntu0.6] (1:8.9p1-3ubuntu0.10 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64])',
        'Inst tzdata [2024a-0] (2025b-0 Debian:12.11/stable [all])',
      ].join('\n'),
    );
    expect(u).toEqual({ apt: true, listsAt: 1800000000, security: ['libssl3', 'openssh-client'], other: 1 });
    expect(judgeUpdates(u)).toEqual({
      status: 'warn',
      detail: '2 pending security update(s): libssl3, openssh-client, package lists of 2027-01-15: apt-get update && apt-get upgrade',
    });
    expect(judgeUpdates(parseUpdates('no apt\n')).detail).toBe('not checked: not a Debian/Ubuntu host (no apt-get)');
  });
});

describe('npm audit', () => {
  it('counts by severity from npm 10 JSON, and says why when there is no answer', () => {
    const found = parseAudit(
      JSON.stringify({ auditReportVersion: 2, metadata: { vulnerabilities: { info: 0, low: 0, moderate: 2, high: 1, critical: 0, total: 3 } } }),
    );
    expect(judgeAudit(found, '20261130221500')).toEqual({
      status: 'warn',
      detail: '3 known vulnerabilities in the production dependencies of release 20261130221500: 1 high, 2 moderate (npm audit --omit=dev; npm audit fix)',
    });
    const none = parseAudit(JSON.stringify({ metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0 } } }));
    expect(judgeAudit(none, 'r').status).toBe('pass');
    const down = parseAudit(
      JSON.stringify({
        message: 'request to http://127.0.0.1:9/-/npm/v1/security/advisories/bulk failed, reason: connect ECONNREFUSED 127.0.0.1:9',
        error: { summary: '', detail: '' },
      }),
    );
    expect(judgeAudit(down, 'r')).toEqual({
      status: 'warn',
      detail:
        "not checked: npm audit could not get an answer (request to http://127.0.0.1:9/-/npm/v1/security/advisories/bulk failed, reason: connect ECONNREFUSED 127.0.0.1:9): is the registry's audit endpoint reachable from here?",
    });
  });
});

describe('decideAlert', () => {
  const now = new Date('2026-11-30T22:00:00Z');
  const o = { app: 'shop', stage: 'production', now };
  const lock = (host: string): CheckItem => ({ group: 'deploy', host, check: 'lock', status: 'fail', detail: 'locked for maintenance' });
  it('alerts when checks start failing, again only when another joins, once on recovery', () => {
    const first = decideAlert({ failing: [] }, [lock('web1')], o);
    expect(first.alert).toMatchObject({ status: 'failing', newly: ['web1 lock'], since: now.toISOString() });
    expect(first.alert!.text).toBe('🚨 ship check: shop production: 1 check(s) failing: web1 lock: locked for maintenance');
    const same = decideAlert(first.next, [{ ...lock('web1'), detail: 'other words' }], o);
    expect(same.alert).toBeUndefined();
    const more = decideAlert(same.next, [lock('web1'), lock('web2')], o);
    expect(more.alert).toMatchObject({ newly: ['web2 lock'], text: expect.stringMatching(/2 check\(s\) failing \(1 new\): web2 lock/) });
    const fewer = decideAlert(more.next, [lock('web2')], o);
    expect(fewer.alert).toBeUndefined();
    const back = decideAlert(fewer.next, [], o);
    expect(back.alert).toMatchObject({ status: 'recovered', ok: true });
    expect(decideAlert(back.next, [], o).alert).toBeUndefined();
  });
});

describe('alertStateFile', () => {
  it('is one per stage, and one per narrowed selection', () => {
    expect(alertStateFile('/ops/shop', 'production')).toBe('/ops/shop/.ship/monitor/production.json');
    const web = alertStateFile('/ops/shop', 'production', { roles: ['web'] });
    expect(web).toMatch(/^\/ops\/shop\/\.ship\/monitor\/production-[0-9a-f]{12}\.json$/);
    expect(alertStateFile('/ops/shop', 'production', { roles: ['db'] })).not.toBe(web);
  });
});
