/**
 * ship as a library: `import { deploy, rollback, loadConfig } from 'ship-deploy'`. The same
 * runs as the command line, without printing or exiting: progress comes as typed events
 * (secrets redacted), a failure is thrown as one of the errors below with its exit code.
 */
import { loadStageConfig } from './cli/config.js';
import { parseDurationFlag } from './cli/flags.js';
import { gitOps, notifyWebhook, operator, transportFactory } from './cli/wiring.js';
import { MAX_CONCURRENCY } from './config/schema.js';
import type { StageConfig } from './config/types.js';
import { deploy as deployStage, type DeployResult } from './deploy/deploy.js';
import { rollback as rollbackStage, type RollbackResult } from './deploy/rollback.js';
import { type RunEnv, systemClock } from './engine/index.js';
import { ExitCode, ShipError, UsageError } from './errors.js';
import { LocalTransport } from './transport/local.js';
import type { ShipEvent } from './ui/events.js';
import { makeRedactor, type Redact } from './ui/redact.js';

export type { StageConfig, HostConfig, TaskDef, HealthSettings, SshSettings } from './config/types.js';
export type { DeployResult } from './deploy/deploy.js';
export type { RollbackResult } from './deploy/rollback.js';
export type { ShipEvent } from './ui/events.js';
export {
  DeployError,
  ExitCode,
  InterruptedError,
  LockedError,
  RollbackFailedError,
  RolledBackError,
  ShipError,
  UsageError,
  type ExitCodeValue,
} from './errors.js';

/** Which config, and which of its stages. */
export interface LoadOptions {
  /** The stage to load. Default: the first stage of the file. */
  stage?: string;
  /** The config file. Default: $SHIP_CONFIG, else deploy.yaml in `cwd` or the nearest directory above it. */
  config?: string;
  /** Where a relative `config` and the lookup start. Default: process.cwd(). */
  cwd?: string;
  /** Where `${NAME}` in deploy.yaml is read from. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** An event as a run emits it, stamped as under --json: when, and for which stage. */
export type StampedEvent = ShipEvent & { ts: string; stage: string };

/** What every run takes. */
export interface RunOptions extends Omit<LoadOptions, 'stage'> {
  /** Every event of the run, in order, secrets redacted. */
  onEvent?: (event: StampedEvent) => void;
  /** Aborting it ends the run as Ctrl-C does: before publish nothing changes, after it the fleet is put back. */
  signal?: AbortSignal;
  /** Only these hosts (names as in deploy.yaml). */
  hosts?: string[];
  /** Only hosts with one of these roles. */
  roles?: string[];
  /** Hosts worked on at once. Default: the config's concurrency. */
  concurrency?: number;
  /** Wait this long for a held lock instead of failing: milliseconds, or a duration such as "5m". */
  lockWait?: number | string;
}

export interface DeployOptions extends RunOptions {
  /** A branch, tag or full sha. Default: the stage's branch, else the repository's HEAD. */
  revision?: string;
}

export interface RollbackOptions extends RunOptions {
  /** The release id to go to. Default: the previous good release. */
  to?: string;
}

/** deploy.yaml, validated, with one stage resolved and its recipe merged in. Throws UsageError (exit 2) listing every problem. */
export function loadConfig(opts: LoadOptions = {}): Promise<StageConfig> {
  return loadStageConfig(opts.stage, opts.config, opts.cwd ?? process.cwd(), opts.env ?? process.env, { say: () => {} });
}

/** Every selected host moves to the new release, or none does. Resolves with the release and each host's `current`. */
export async function deploy(stage: StageConfig | string, opts: DeployOptions = {}): Promise<DeployResult> {
  const resolved = await stageOf(stage, opts);
  return run(resolved, opts, 'deploy:end', (env) =>
    deployStage(resolved, { hosts: opts.hosts, roles: opts.roles, ...(opts.revision ? { revision: opts.revision } : {}) }, env, gitOps),
  );
}

/** Every selected host back to the previous good release (or `to`), with the deploy's publish step. */
export async function rollback(stage: StageConfig | string, opts: RollbackOptions = {}): Promise<RollbackResult> {
  const resolved = await stageOf(stage, opts);
  return run(resolved, opts, 'rollback:end', (env) =>
    rollbackStage(resolved, { hosts: opts.hosts, roles: opts.roles, ...(opts.to ? { to: opts.to } : {}) }, env),
  );
}

const stageOf = (stage: StageConfig | string, opts: RunOptions) => (typeof stage === 'string' ? loadConfig({ ...opts, stage }) : Promise.resolve(stage));

/** Runs one deploy or rollback and closes its event stream with the end event, as the CLI does. */
async function run<R extends { release: string; revision?: string; current: Record<string, string | null> }>(
  stage: StageConfig,
  opts: RunOptions,
  end: 'deploy:end' | 'rollback:end',
  work: (env: RunEnv) => Promise<R>,
): Promise<R> {
  const redact = makeRedactor(stage.secretValues);
  const notified: Promise<unknown>[] = [];
  const env = await runEnv(stage, opts, redact, notified);
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const result = await work(env);
    env.emit({
      event: end,
      ok: true,
      exitCode: 0,
      release: result.release,
      ...(result.revision ? { revision: result.revision } : {}),
      ms: ms(),
      current: result.current,
    });
    return result;
  } catch (e) {
    const exitCode = e instanceof ShipError ? e.exitCode : ExitCode.failed;
    const error = redact(e instanceof Error ? e.message : String(e));
    env.emit({ event: end, ok: false, exitCode, ms: ms(), current: (e instanceof ShipError && e.current) || {}, error });
    throw e;
  } finally {
    await Promise.all(notified);
  }
}

/** The run's context; the webhook's posts go into `notified`, for the run to wait for. */
async function runEnv(stage: StageConfig, opts: RunOptions, redact: Redact, notified: Promise<unknown>[]): Promise<RunEnv> {
  const concurrency = opts.concurrency ?? stage.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
    throw new UsageError(`concurrency: expected a whole number from 1 to ${MAX_CONCURRENCY}, got ${concurrency}`);
  const who = operator();
  const webhook = stage.notify?.webhook;
  const onEvent = opts.onEvent ?? (() => {});
  const warn = (message: string) => onEvent(stamp(stage, { event: 'log', level: 'warn', message }, redact));
  return {
    clock: systemClock,
    emit: (e) => {
      onEvent(stamp(stage, e, redact));
      if (webhook && (e.event === 'deploy:end' || e.event === 'rollback:end')) {
        notified.push(notifyWebhook(webhook, stage, e, who.user, redact).then((problem) => problem && warn(problem)));
      }
    },
    redact,
    transportFor: await transportFactory(stage, warn),
    localTransport: new LocalTransport('local', stage.configDir),
    operator: who,
    concurrency,
    lockWaitMs: typeof opts.lockWait === 'string' ? parseDurationFlag('lockWait', opts.lockWait) : (opts.lockWait ?? 0),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

/** The event as --json writes it: stamped, every string in it redacted. */
function stamp(stage: StageConfig, e: ShipEvent, redact: Redact): StampedEvent {
  const redacted = (_key: string, value: unknown) => (typeof value === 'string' ? redact(value) : value);
  return JSON.parse(JSON.stringify({ ts: new Date().toISOString(), stage: stage.stage, ...e }, redacted)) as StampedEvent;
}
