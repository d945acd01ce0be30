/**
 * ship init on a real terminal (tmux): it asks for the hosts, the ssh user (only when
 * ~/.ssh/config has none for them) and the restart method, Enter taking each default; without
 * a terminal, or with --yes, it asks nothing and writes what it detected.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runShip } from '../helpers/cli.js';
import { skipWithout } from '../helpers/requirements.js';
import { shipInTmux } from '../helpers/tmux.js';

/** The parts of the written deploy.yaml the tests read. */
interface WrittenConfig {
  ssh: { user?: string; known_hosts: string };
  vars: Record<string, string>;
  health: { http: string };
  stages: { production: { hosts: unknown[] } };
}

/** A new Express-like app with its own HOME (and ~/.ssh/config, when given). */
function project(sshConfig?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ship-init-tty-'));
  const app = join(dir, 'app');
  const home = join(dir, 'home');
  mkdirSync(app);
  mkdirSync(join(home, '.ssh'), { recursive: true });
  if (sshConfig) writeFileSync(join(home, '.ssh', 'config'), sshConfig);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'shop', scripts: { start: 'node server.js', build: 'tsc' } }));
  writeFileSync(join(app, 'server.js'), "require('express')().listen(process.env.PORT || 8080);\n");
  const config = () => parse(readFileSync(join(app, 'deploy.yaml'), 'utf8')) as WrittenConfig;
  return { app, home, config };
}

describe.skipIf(skipWithout('terminal'))('ship init on a terminal', () => {
  it('asks for hosts, ssh user and restart method; the answers go into deploy.yaml', async () => {
    const p = project();
    const pane = shipInTmux(['init'], { cwd: p.app, env: { HOME: p.home } });
    try {
      await pane.waitFor(/Hosts of the production stage, separated by commas \[web1\.example\.com\]:\s*$/m);
      pane.send('app1.acme.net, app2.acme.net', 'Enter');
      await pane.waitFor(/SSH user on the hosts \[deploy\]:\s*$/m);
      pane.send('ops', 'Enter');
      await pane.waitFor(/How is the app restarted: pm2, systemd, command .*\[pm2\]:\s*$/m);
      pane.send('Enter');
      const screen = await pane.waitFor(/\[exit \d+\]/);
      expect(screen).toContain('[exit 0]');
      expect(screen).toContain('restart with pm2, health check http://127.0.0.1:8080/');
    } finally {
      pane.kill();
    }
    const c = p.config();
    expect(c.stages.production.hosts).toEqual(['app1.acme.net', 'app2.acme.net']);
    expect(c.ssh.user).toBe('ops');
    expect(c.vars).toMatchObject({ restart_with: 'pm2', build_script: 'build' });
    expect(c.health.http).toBe('http://127.0.0.1:8080/');
  });

  it('does not ask for the ssh user when ~/.ssh/config has one for the host, and writes none', async () => {
    const p = project('Host app1\n  HostName 10.0.0.7\n  User ops\n');
    const pane = shipInTmux(['init'], { cwd: p.app, env: { HOME: p.home } });
    try {
      await pane.waitFor(/Hosts of the production stage/);
      pane.send('app1', 'Enter');
      await pane.waitFor(/How is the app restarted/);
      pane.send('systemd', 'Enter');
      const screen = await pane.waitFor(/\[exit \d+\]/);
      expect(screen).toContain('ssh user: ops, from ~/.ssh/config');
      expect(screen).not.toContain('SSH user on the hosts');
    } finally {
      pane.kill();
    }
    const c = p.config();
    expect(c.ssh.user).toBeUndefined();
    expect(c.vars.restart_with).toBe('systemd');
  });

  it('--yes on a terminal, and no terminal at all: no question, the detected defaults', async () => {
    const p = project();
    const pane = shipInTmux(['init', '--yes'], { cwd: p.app, env: { HOME: p.home } });
    try {
      const screen = await pane.waitFor(/\[exit \d+\]/);
      expect(screen).toContain('[exit 0]');
      expect(screen).not.toContain('Hosts of the production stage');
    } finally {
      pane.kill();
    }
    expect(p.config().stages.production.hosts).toEqual(['web1.example.com']);
    const q = project();
    const piped = await runShip(['init'], { cwd: q.app, env: { HOME: q.home } });
    expect(piped.code, piped.stderr).toBe(0);
    expect(q.config()).toMatchObject({ vars: { restart_with: 'pm2' }, ssh: { known_hosts: 'strict' } });
    expect(q.config().ssh.user).toBeUndefined();
  });
});
