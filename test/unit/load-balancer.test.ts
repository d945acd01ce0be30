/**
 * The load balancer's pure parts: what deploy.yaml may say (each kind has what it needs, `on`
 * names a role), the capacity rule, the HAProxy commands as shell text (run through a real
 * sh against a fake socat), and the restart verdict of `ship check`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Balancer, serverName } from '../../src/balancer/balancer.js';
import { haproxyDrain, haproxyEnable, socatAddress } from '../../src/balancer/haproxy.js';
import { formatProblem } from '../../src/config/problem.js';
import type { LoadBalancerSettings, StageConfig } from '../../src/config/types.js';
import { validateConfigText } from '../../src/config/validate.js';
import { planBalancer } from '../../src/deploy/rollout.js';
import { UsageError } from '../../src/errors.js';
import { judgeRestart } from '../../src/setup/check/stage.js';
import { render } from '../../src/shell/render.js';
import { localStage } from '../helpers/stage.js';

const problems = (lb: string, hosts = '[web1.example.com, web2.example.com]'): string[] => {
  const text = `app: demo\nrepo: https://example.com/demo.git\ndeploy_to: /srv/demo\n${lb}\nstages:\n  production:\n    hosts: ${hosts}\n`;
  const r = validateConfigText({ text, file: 'deploy.yaml' });
  return r.ok ? [] : r.problems.map(formatProblem);
};

describe('load_balancer in deploy.yaml', () => {
  test('haproxy needs socket and backend; commands needs drain and enable; keys of the other kind are refused', () => {
    expect(problems('load_balancer: { kind: haproxy }')).toEqual([
      'deploy.yaml:4:16 load_balancer: load_balancer of kind haproxy needs socket',
      'deploy.yaml:4:16 load_balancer: load_balancer of kind haproxy needs backend',
    ]);
    expect(problems('load_balancer: { kind: commands, drain: a, enable: b, backend: app }')).toEqual([
      'deploy.yaml:4:55 load_balancer.backend: backend is not used by kind commands (it belongs to kind haproxy)',
    ]);
    expect(problems('load_balancer: { kind: haproxy, socket: /run/haproxy.sock, backend: app }')).toEqual([]);
  });

  test('on names a role some host has, or local', () => {
    expect(problems('load_balancer: { kind: commands, drain: a, enable: b, on: lbb }', '[{ host: lb1, roles: [lb] }, web1]')).toEqual([
      'deploy.yaml:4:59 load_balancer.on: no host has role "lbb" (roles in use: app, lb, web; did you mean "lb"?); use "local" to drive the balancer from this machine',
    ]);
    expect(problems('load_balancer: { kind: commands, drain: a, enable: b, on: lb }', '[{ host: lb1, roles: [lb] }, web1]')).toEqual([]);
  });
});

const settings = (over: Partial<LoadBalancerSettings> = {}): LoadBalancerSettings => ({
  kind: 'haproxy',
  on: 'local',
  socket: '/run/haproxy/admin.sock',
  backend: 'app',
  server: '{{host}}',
  drainTimeoutMs: 5000,
  drainAll: false,
  ...over,
});

describe('capacity: a rollout never drains every balanced host at once', () => {
  const stage = (rollout: StageConfig['rollout'], lb = settings()): StageConfig => ({ ...localStage('/nowhere', 4), rollout, loadBalancer: lb });

  test('all at once is refused with a rollout to use instead; batches pass; drain_all allows it', () => {
    const s = stage({});
    expect(() => planBalancer(s, s.hosts)).toThrow(UsageError);
    expect(() => planBalancer(s, s.hosts)).toThrow(/drains all 4 balanced host\(s\) at once/);
    expect(() => planBalancer(stage({ batch: 2 }), s.hosts)).not.toThrow();
    expect(() => planBalancer(stage({ canary: 1 }), s.hosts)).not.toThrow(); // 1, then the other 3
    expect(() => planBalancer(stage({}, settings({ drainAll: true })), s.hosts)).not.toThrow();
  });

  test('selecting some hosts drains only those: one of four at once is fine', () => {
    const s = stage({});
    expect(() => planBalancer(s, s.hosts.slice(0, 1))).not.toThrow();
  });
});

describe('HAProxy runtime commands', () => {
  test('the admin socket is a unix path or a TCP host:port', () => {
    expect(socatAddress('/run/haproxy/admin.sock')).toBe('UNIX-CONNECT:/run/haproxy/admin.sock');
    expect(socatAddress('127.0.0.1:9999')).toBe('TCP:127.0.0.1:9999');
    expect(socatAddress('[::1]:9999')).toBe('TCP:[::1]:9999');
  });

  /** Runs a command with a fake socat that answers like HAProxy from `answers` (by command). */
  const runWith = (command: string, answers: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'ship-socat-'));
    const table = Object.entries(answers)
      .map(([cmd, out], i) => {
        writeFileSync(join(dir, `answer${i}`), out);
        return `  ${JSON.stringify(cmd)}) cat ${dir}/answer${i} ;;`;
      })
      .join('\n');
    writeFileSync(join(dir, 'socat'), `#!/bin/sh\nread -r cmd\necho "$cmd" >> ${dir}/sent\ncase "$cmd" in\n${table}\n  *) echo "Unknown command." ;;\nesac\n`);
    chmodSync(join(dir, 'socat'), 0o755);
    try {
      const out = execFileSync('sh', ['-c', command], { env: { PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { code: 0, out, sent: execFileSync('cat', [join(dir, 'sent')], { encoding: 'utf8' }) };
    } catch (e) {
      const err = e as { status: number; stderr: string };
      return { code: err.status, out: err.stderr, sent: '' };
    }
  };
  const state = (admin: number) => `1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state\n3 app 1 web-1 127.0.0.1 2 ${admin}\n`;
  const stat = (scur: number) => `# pxname,svname,qcur,qmax,scur,smax\napp,web-1,0,0,${scur},3\n`;

  test('drain: sets the state, proves the drain bit, waits for 0 sessions; a name with a quote stays one word', () => {
    const r = runWith(render(haproxyDrain('/s', 'app', 'web-1', 2000)), {
      'set server app/web-1 state drain': '',
      'show servers state app': state(8),
      'show stat': stat(0),
    });
    expect(r.code, r.out).toBe(0);
    expect(r.sent.split('\n').filter(Boolean)).toEqual(['set server app/web-1 state drain', 'show servers state app', 'show stat']);
    const odd = runWith(render(haproxyDrain('/s', 'app', "web'1; rm -rf /tmp/x", 1000)), {});
    expect(odd.out).toMatch(/HAProxy refused to set drain on app\/web'1; rm -rf \/tmp\/x: Unknown command\./);
  });

  test('drain fails when HAProxy refuses, does not know the server, or does not show the drain bit', () => {
    const cmd = render(haproxyDrain('/s', 'app', 'web-1', 1000));
    expect(runWith(cmd, { 'set server app/web-1 state drain': 'No such server.' }).out).toMatch(/HAProxy refused to set drain on app\/web-1: No such server\./);
    expect(runWith(cmd, { 'set server app/web-1 state drain': '', 'show servers state app': '1\n# header\n' }).out).toMatch(/HAProxy has no server app\/web-1/);
    expect(runWith(cmd, { 'set server app/web-1 state drain': '', 'show servers state app': state(0) }).out).toMatch(
      /did not drain app\/web-1 \(admin state 0\)/,
    );
  });

  test('drain gives up waiting for sessions after drain_timeout, with a warning, and goes on', () => {
    const r = runWith(`${render(haproxyDrain('/s', 'app', 'web-1', 1000))} 2>&1`, {
      'set server app/web-1 state drain': '',
      'show servers state app': state(8),
      'show stat': stat(3),
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/warning: app\/web-1 still has 3 open session\(s\) after 1s; going on/);
  });

  test('enable: back in rotation, proven by an admin state without drain or maintenance bits', () => {
    const cmd = render(haproxyEnable('/s', 'app', 'web-1'));
    expect(runWith(cmd, { 'set server app/web-1 state ready': '', 'show servers state app': state(0) }).code).toBe(0);
    expect(runWith(cmd, { 'set server app/web-1 state ready': '', 'show servers state app': state(1) }).out).toMatch(
      /did not put app\/web-1 back in rotation \(admin state 1\)/,
    );
  });
});

describe('names and verdicts', () => {
  test('a host is named in the balancer by the server template', () => {
    expect(serverName(settings({ server: 'web-{{host}}' }), { host: 'a.example.com' })).toBe('web-a.example.com');
    expect(() => serverName(settings({ server: '{{hots}}' }), { host: 'a' })).toThrow(/load_balancer.server: unknown placeholder \{\{hots\}\}/);
  });

  test('the balancer has no dance for its own hosts (on: a role)', () => {
    const b = new Balancer(settings({ on: 'lb' }), { transport: undefined as never, name: 'lb1' });
    const [web] = localStage('/nowhere', 1).hosts;
    expect(b.danceFor({ ...web!, roles: ['lb'] }, { host: 'x' })).toBeUndefined();
    expect(b.danceFor(web!, { host: 'x' })?.server).toBe('x');
  });

  test('a drain step may wait its whole drain_timeout: its own step limit is longer (both kinds)', () => {
    const [web] = localStage('/nowhere', 1).hosts;
    const hour = 3_600_000;
    for (const kind of [settings({ drainTimeoutMs: hour }), settings({ kind: 'commands', drain: 'a', enable: 'b', drainTimeoutMs: hour })]) {
      const dance = new Balancer(kind, { transport: undefined as never, name: 'here' }).danceFor(web!, { host: 'x' })!;
      expect(dance.drain.timeoutMs).toBeGreaterThan(hour);
    }
  });

  test('ship check says whether a restart drops requests', () => {
    const base = localStage('/nowhere', 1);
    expect(judgeRestart({ ...base, loadBalancer: settings() }).status).toBe('pass');
    expect(judgeRestart({ ...base, vars: { restart_with: 'pm2' } }).status).toBe('pass');
    // in fork mode pm2 reload is a restart: the one process stops before the new one listens
    expect(judgeRestart({ ...base, vars: { restart_with: 'pm2', pm2_exec_mode: 'fork' } })).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^restarts drop requests: restart_with: pm2 with pm2_exec_mode: fork stops/),
    });
    expect(judgeRestart({ ...base, vars: { restart_with: 'systemd' } })).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/restart_with: systemd stops the app/),
    });
  });
});
