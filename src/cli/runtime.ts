import { hostname, userInfo } from 'node:os';
import type { HostConfig, StageConfig } from '../config/types.js';
import { systemClock } from '../deploy/clock.js';
import type { Operator, RunEnv } from '../deploy/fleet.js';
import { UsageError } from '../errors.js';
import { LocalTransport } from '../transport/local.js';
import type { Transport } from '../transport/types.js';
import { HostStateTracker } from '../ui/host-state.js';
import { makeRedactor, type Redact } from '../ui/redact.js';
import { jsonReporter, plainReporter, type Reporter } from '../ui/reporter.js';
import { loadStageConfig, parseDurationFlag } from './config.js';

/** Options every command accepts (DESIGN section 5). */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  verbose?: boolean;
  color?: boolean;
  concurrency?: string;
  lockWait?: string;
}

export interface Runtime {
  stage: StageConfig;
  env: RunEnv;
  reporter: Reporter;
  redact: Redact;
  json: boolean;
  /** Prints a human line (stderr under --json, so stdout stays NDJSON). */
  say(text: string): void;
  dispose(): void;
}

export function operator(env: NodeJS.ProcessEnv = process.env): Operator {
  let user = env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep $USER
  }
  const ci = env.GITHUB_ACTOR ?? env.GITLAB_USER_LOGIN ?? env.BUILDKITE_BUILD_CREATOR ?? (env.CI ? 'ci' : undefined);
  return { user, machine: hostname(), pid: process.pid, ...(ci ? { ci } : {}) };
}

/** Local hosts run through execa, the rest over SSH (loaded only when a stage has SSH hosts). */
async function transportFactory(stage: StageConfig, say: (s: string) => void): Promise<(h: HostConfig) => Transport> {
  const needsSsh = stage.hosts.some((h) => !h.local);
  if (!needsSsh) return (h) => new LocalTransport(h.name, stage.configDir);
  const [{ createSshTransport }, { buildSshTarget }, { readSshTargetEnv }] = await Promise.all([
    import('../transport/ssh.js'),
    import('../transport/ssh-config.js'),
    import('../transport/ssh-env.js'),
  ]);
  const machine = readSshTargetEnv();
  return (h) => {
    if (h.local) return new LocalTransport(h.name, stage.configDir);
    const target = buildSshTarget(
      {
        name: h.name,
        hostname: h.name,
        ...(h.ssh.user !== undefined ? { user: h.ssh.user } : {}),
        ...(h.ssh.port !== undefined ? { port: h.ssh.port } : {}),
        ...(h.ssh.identity !== undefined ? { identity: h.ssh.identity } : {}),
        ...(h.ssh.jump !== undefined ? { jump: h.ssh.jump } : {}),
        knownHosts: h.ssh.knownHosts,
        connectTimeoutMs: h.ssh.connectTimeoutMs,
        keepaliveMs: h.ssh.keepaliveMs,
      },
      machine,
    );
    return createSshTransport(target, {
      homedir: machine.homedir,
      notice: (m) => say(`${h.name}: ${m}`),
      onHostKeyLearned: (host, line) => say(`${host}: host key recorded (accept-new): ${line.split(' ').slice(1, 2).join('')}`),
    });
  };
}

/**
 * Ctrl-C / SIGTERM: the first aborts the run, which winds down as a failure at that point
 * (DESIGN section 4); a second one says what is still happening instead of dying silently.
 */
function interruptions(say: (s: string) => void, state: HostStateTracker): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  let count = 0;
  const on = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      say(`${sig}: stopping safely: before publish nothing changes, after publish the fleet is put back; locks are released`);
      ac.abort(new Error(`interrupted by ${sig}`));
    } else {
      say(`${sig} again: still winding down (restoring hosts and releasing locks); a third signal quits at once and may leave locks behind. Where each host stands:`);
      for (const line of state.describe()) say(`  ${line}`);
      if (count >= 3) process.exit(130);
    }
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

export async function prepareRuntime(stageName: string, g: GlobalOptions): Promise<Runtime> {
  const stage = await loadStageConfig(stageName, g.config);
  const redact = makeRedactor(stage.secretValues);
  const json = !!g.json;
  const color = g.color !== false && !process.env.NO_COLOR && !json && !!process.stdout.isTTY && !process.env.CI;
  const reporter = json
    ? jsonReporter({ stage: stage.stage, out: process.stdout, redact })
    : plainReporter({ stage: stage.stage, out: process.stdout, redact, verbose: !!g.verbose, color });
  const say = (text: string) => (json ? process.stderr : process.stdout).write(redact(text) + '\n');
  let concurrency = stage.concurrency;
  if (g.concurrency !== undefined) {
    concurrency = Number(g.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency: expected a whole number ≥ 1, got ${JSON.stringify(g.concurrency)}`);
  }
  const lockWaitMs = g.lockWait !== undefined ? parseDurationFlag('--lock-wait', g.lockWait) : 0;
  const state = new HostStateTracker();
  const irq = interruptions((s) => process.stderr.write(s + '\n'), state);
  const env: RunEnv = {
    clock: systemClock,
    emit: (e) => {
      state.observe(e);
      reporter.emit(e);
    },
    redact,
    transportFor: await transportFactory(stage, say),
    operator: operator(),
    concurrency,
    lockWaitMs,
    signal: irq.signal,
  };
  return { stage, env, reporter, redact, json, say, dispose: irq.dispose };
}
