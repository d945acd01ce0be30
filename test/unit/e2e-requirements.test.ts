/**
 * What the end-to-end suite says about a machine that cannot run it: which capability lacks
 * what, the one command that installs it, the block printed at the end of the run, and that
 * with CI set nothing is skipped.
 */
import { describe, expect, it } from 'vitest';
import { requirementsReport } from '../helpers/requirements-reporter.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/repo.js';
import {
  CAPABILITIES,
  fixesFor,
  inspectMachine,
  isCi,
  lacksFor,
  mustSkip,
  PM2_VERSION,
  REQUIREMENTS_ERROR,
  type MachineFacts,
} from '../helpers/requirements.js';

/** A root Linux machine with everything installed; `over` takes things away. */
const machine = (over: Partial<MachineFacts> = {}): MachineFacts => ({
  linux: true,
  root: true,
  ci: false,
  sshd: '/usr/sbin/sshd',
  sshKeygen: '/usr/bin/ssh-keygen',
  ssh: '/usr/bin/ssh',
  unshare: '/usr/bin/unshare',
  nsenter: '/usr/bin/nsenter',
  tmux: '/usr/bin/tmux',
  haproxy: '/usr/sbin/haproxy',
  socat: '/usr/bin/socat',
  dropbear: '/usr/sbin/dropbear',
  dropbearconvert: '/usr/bin/dropbearconvert',
  busybox: '/usr/bin/busybox',
  fish: '/usr/bin/fish',
  tcsh: '/usr/bin/tcsh',
  pm2: '/usr/bin/pm2',
  systemdAnalyze: '/usr/bin/systemd-analyze',
  postgres: true,
  sqlite3: '/usr/bin/sqlite3',
  mountNamespaces: true,
  overrides: {},
  ...over,
});

describe('what a machine lacks for the end-to-end suite', () => {
  it('nothing, when everything is there', () => {
    expect(lacksFor(CAPABILITIES, machine())).toEqual([]);
    expect(mustSkip(CAPABILITIES, machine({ ci: true }))).toBe(false);
  });

  it('without sshd: the fleet and the sshd tests lack openssh-server, once; the terminal tests do not', () => {
    const m = machine({ sshd: undefined });
    expect(lacksFor(['sshd', 'fleet', 'isolation'], m)).toEqual([{ what: 'sshd (OpenSSH server)', package: 'openssh-server' }]);
    expect(lacksFor(['terminal'], m)).toEqual([]);
  });

  it('one apt-get line for every package, with sudo when not root, each package once', () => {
    const m = machine({ sshd: undefined, ssh: undefined, sshKeygen: undefined, tmux: undefined });
    const lacks = lacksFor(CAPABILITIES, m);
    expect(fixesFor(lacks, true)).toEqual(['apt-get install -y openssh-server openssh-client tmux']);
    expect(fixesFor(lacks, false)).toEqual(['sudo apt-get install -y openssh-server openssh-client tmux']);
  });

  it('.ci/run installs the pm2 version the advice names', () => {
    expect(readFileSync(join(ROOT, '.ci', 'run'), 'utf8')).toContain(`PM2_VERSION=${PM2_VERSION}\n`);
  });

  it('pm2 comes from the npm registry, systemd-analyze from the systemd package', () => {
    const lacks = lacksFor(['pm2', 'systemd-analyze'], machine({ pm2: undefined, systemdAnalyze: undefined }));
    expect(fixesFor(lacks, true)).toEqual(['apt-get install -y systemd', expect.stringMatching(/^npm install -g pm2@\d+\.\d+\.\d+$/)]);
  });

  it('not root: the fleet runs (on high ports), the isolated fleet lacks root; unshare is not asked for', () => {
    const m = machine({ root: false, unshare: undefined, nsenter: undefined, mountNamespaces: false });
    expect(lacksFor(['fleet'], m)).toEqual([]);
    const lacks = lacksFor(['isolation'], m);
    expect(lacks.map((l) => l.what)).toEqual([expect.stringMatching(/^root \(/)]);
    expect(fixesFor(lacks, false)).toEqual(['run the tests as root: sudo npm test']);
  });

  it('root where `unshare -m` fails, or without util-linux', () => {
    expect(fixesFor(lacksFor(['fleet'], machine({ mountNamespaces: false })), true)).toEqual(['give the container CAP_SYS_ADMIN (docker run --privileged)']);
    expect(lacksFor(['fleet'], machine({ unshare: undefined, nsenter: undefined, mountNamespaces: false }))).toEqual([
      { what: 'unshare', package: 'util-linux' },
      { what: 'nsenter', package: 'util-linux' },
    ]);
  });

  it('SHIP_TEST_SSHD and SHIP_TEST_TMUX replace the binaries, and a missing one is named', () => {
    const env = { PATH: process.env.PATH, SHIP_TEST_SSHD: '/nonexistent/sshd', SHIP_TEST_TMUX: '/bin/sh' };
    const m = inspectMachine(env);
    expect(m.sshd).toBeUndefined();
    expect(m.tmux).toBe('/bin/sh');
    expect(lacksFor(['sshd'], m)).toEqual([{ what: 'sshd: SHIP_TEST_SSHD=/nonexistent/sshd does not exist', package: 'openssh-server' }]);
  });

  it('CI is set by any value but empty, false or 0', () => {
    expect(['true', '1', 'yes'].map((CI) => isCi({ CI }))).toEqual([true, true, true]);
    expect(['', 'false', '0', undefined].map((CI) => isCi({ CI }))).toEqual([false, false, false, false]);
  });
});

describe('skipping', () => {
  it('skips what the machine cannot run, outside CI', () => {
    expect(mustSkip(['fleet'], machine({ sshd: undefined }))).toBe(true);
    expect(mustSkip(['terminal'], machine({ sshd: undefined }))).toBe(false);
  });

  it('with CI set, throws the message instead of skipping', () => {
    const run = () => mustSkip(['fleet', 'terminal'], machine({ ci: true, sshd: undefined, tmux: undefined }));
    expect(run).toThrow(expect.objectContaining({ name: REQUIREMENTS_ERROR }));
    expect(run).toThrowErrorMatchingInlineSnapshot(`
      [E2eRequirementsError: CI is set, so the end-to-end tests may not be skipped.
      This machine lacks what they need:
        - sshd (OpenSSH server)
        - tmux
      To run them:
        apt-get install -y openssh-server tmux]
    `);
  });
});

describe('the block printed at the end of the run', () => {
  const lacks = lacksFor(CAPABILITIES, machine({ root: false, sshd: undefined, tmux: undefined }));
  const affected = [
    { file: 'test/e2e/exec.test.ts', skipped: 4, failed: false },
    { file: 'test/e2e/ssh-transport.test.ts', skipped: 25, failed: false },
  ];

  it('says what was skipped, what is missing and the commands that get it', () => {
    expect(requirementsReport(lacks, affected, { root: false, ci: false, color: false })).toMatchInlineSnapshot(`
      "
      ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
      END-TO-END TESTS SKIPPED: 29 tests in 2 files did not run
      ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
      This machine lacks what they need:
        - sshd (OpenSSH server)
        - root (without it the fleet shares one filesystem on 127.0.0.1 high ports: no mount namespace per host)
        - tmux
      To run them:
        sudo apt-get install -y openssh-server tmux
        run the tests as root: sudo npm test
      Skipped:
        test/e2e/exec.test.ts           4 skipped
        test/e2e/ssh-transport.test.ts  25 skipped
      ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
      "
    `);
  });

  it('with CI set, says the files failed', () => {
    const failed = affected.map((a) => ({ ...a, skipped: 0, failed: true }));
    const text = requirementsReport(lacks, failed, { root: false, ci: true, color: false });
    expect(text).toContain('END-TO-END TESTS FAILED: CI is set, so they may not be skipped (2 files failed)');
    expect(text).toContain('  test/e2e/exec.test.ts           failed\n');
  });
});
