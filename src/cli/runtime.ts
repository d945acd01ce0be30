import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import type { StageConfig } from '../config/types.js';
import { type RunEnv, systemClock } from '../engine/index.js';
import { LocalTransport } from '../transport/local.js';
import type { ListingEvent } from '../ui/events.js';
import { printable } from '../release/host-text.js';
import { HostStateTracker } from '../ui/host-state.js';
import { makeRedactor, type Redact } from '../ui/redact.js';
import { groupedReporter } from '../ui/grouped.js';
import { deployLog, type DeployLog } from '../ui/log-file.js';
import { jsonReporter, jsonWriter, plainReporter, teeReporter, type Reporter } from '../ui/reporter.js';
import { loadStageConfig } from './config.js';
import { notifyWebhook, operator, transportFactory } from './wiring.js';

/** Options every command accepts. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  verbose?: boolean;
  color?: boolean;
  /** Already checked and parsed where the command line is read. */
  concurrency?: number;
  /** Milliseconds, already checked and parsed where the command line is read. */
  lockWait?: number;
}

export interface Runtime {
  stage: StageConfig;
  env: RunEnv;
  reporter: Reporter;
  redact: Redact;
  json: boolean;
  /** Prints a human line (stderr under --json, so stdout stays NDJSON). */
  say(text: string): void;
  /** Writes one item of a listing (releases, history, check...) as an NDJSON event: for --json. */
  list(e: ListingEvent): void;
  /** The deploy log, for the commands that keep one. */
  log: DeployLog | undefined;
  dispose(): void;
}

/** What a command wants from its runtime beyond the global options. */
export interface RuntimeOptions {
  /** Live progress as a listr2 tree when on a terminal (not under CI, --json or --verbose). */
  tree?: boolean;
  /** Keep the full plain log of this run in <config dir>/.ship/logs/. */
  log?: 'deploy' | 'rollback';
  /** Show each host's command output as one block (ship exec, ship run). */
  grouped?: boolean;
}

/** The signals that wind a run down: SIGHUP is a terminal or an SSH session to this machine that dropped. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Ctrl-C, SIGTERM or SIGHUP: the first aborts the run, which winds down as a failure at that
 * point (before publish nothing changes; after it the fleet is put back; locks are released);
 * a second one says what is still happening instead of dying silently.
 */
function interruptions(say: (s: string) => void, state: HostStateTracker): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  // every host's running script listens on this one signal (and drops its listener when done):
  // many hosts at once are expected, not a leak
  setMaxListeners(0, ac.signal);
  let count = 0;
  const on = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      say(`${sig}: stopping safely: before publish nothing changes, after publish the fleet is put back; locks are released`);
      ac.abort(new Error(`interrupted by ${sig}`));
    } else {
      say(
        `${sig} again: still winding down (restoring hosts and releasing locks); a third signal quits at once and may leave locks behind. Where each host stands:`,
      );
      for (const line of state.describe()) say(`  ${line}`);
      if (count >= 3) process.exit(130);
    }
  };
  for (const sig of STOP_SIGNALS) process.on(sig, on);
  return {
    signal: ac.signal,
    dispose: () => {
      for (const sig of STOP_SIGNALS) process.off(sig, on);
    },
  };
}

/** NDJSON under --json; the listr2 tree on a terminal; plain lines otherwise (CI, pipes, --verbose). */
async function screenReporter(stage: StageConfig, g: GlobalOptions, o: RuntimeOptions & { tree: boolean }, redact: Redact, color: boolean): Promise<Reporter> {
  if (g.json) return jsonReporter({ stage: stage.stage, out: process.stdout, redact });
  if (o.grouped) return groupedReporter({ stage: stage.stage, out: process.stdout, redact, color });
  if (o.tree) {
    // listr2's colours are decided when it loads: --no-color must be known by then
    if (!color) process.env.NO_COLOR = '1';
    const { treeReporter } = await import('../ui/tree.js');
    return treeReporter({ stage: stage.stage, out: process.stdout, redact, color, hosts: stage.hosts.map((h) => h.name) });
  }
  return plainReporter({ stage: stage.stage, out: process.stdout, redact, verbose: !!g.verbose, color });
}

export async function prepareRuntime(stageName: string, g: GlobalOptions, o: RuntimeOptions = {}): Promise<Runtime> {
  const stage = await loadStageConfig(stageName, g.config);
  const redact = makeRedactor(stage.secretValues);
  const json = !!g.json;
  const color = g.color !== false && !process.env.NO_COLOR && !json && !!process.stdout.isTTY && !process.env.CI;
  const tree = !!o.tree && !json && !!process.stdout.isTTY && !process.env.CI && !g.verbose;
  const screen = await screenReporter(stage, g, { ...o, tree }, redact, color);
  const log = o.log ? deployLog({ dir: join(stage.configDir, '.ship', 'logs'), stage: stage.stage, kind: o.log, redact }) : undefined;
  const reporter = log ? teeReporter(screen, log) : screen;
  const say = (text: string) => (json ? process.stderr : process.stdout).write(`${redact(printable(text))}\n`);
  const concurrency = g.concurrency ?? stage.concurrency;
  const lockWaitMs = g.lockWait ?? 0;
  const state = new HostStateTracker();
  // the tree holds the terminal while it draws: a Ctrl-C notice goes into it, not under it
  const notify = tree ? (message: string) => reporter.emit({ event: 'log', level: 'warn', message }) : (s: string) => process.stderr.write(`${s}\n`);
  const irq = interruptions(notify, state);
  const webhook = stage.notify?.webhook;
  const who = operator();
  let notified: Promise<void> = Promise.resolve();
  const env: RunEnv = {
    clock: systemClock,
    emit: (e) => {
      state.observe(e);
      reporter.emit(e);
      if (webhook && (e.event === 'deploy:end' || e.event === 'rollback:end')) {
        notified = notifyWebhook(webhook, stage, e, who.user, redact).then((problem) => {
          if (problem) reporter.emit({ event: 'log', level: 'warn', message: problem });
        });
      }
    },
    redact,
    transportFor: await transportFactory(stage, say),
    localTransport: new LocalTransport('local', stage.configDir),
    operator: who,
    concurrency,
    lockWaitMs,
    signal: irq.signal,
  };
  // the webhook is posted when the run ends; closing the reporter waits for it
  const closing: Reporter = {
    emit: (e) => reporter.emit(e),
    close: async () => {
      await notified;
      await reporter.close();
    },
  };
  const list = jsonWriter({ stage: stage.stage, out: process.stdout, redact });
  return { stage, env, reporter: closing, redact, json, say, list, log, dispose: irq.dispose };
}
