/**
 * Everything ship reports goes through one stream of events. Reporters (plain lines, NDJSON,
 * the terminal tree) turn them into output; nothing else prints. Under --json each event is
 * one line of NDJSON on stdout, with `ts`, `event` and `stage` first: the fields below are
 * that output's contract (a field added later is optional, and none changes its meaning).
 */

import type { StepKind } from '../shell/script.js';

export type ShipEvent =
  | { event: 'deploy:start'; release: string; revision: string; branch?: string; hosts: string[]; dryRun?: boolean }
  | { event: 'rollback:start'; hosts: string[]; target?: string }
  | { event: 'host:connect'; host: string; ok: boolean; ms: number; error?: string }
  /** continues: the host's script goes on under this lock (a deploy delivers the code there). */
  | { event: 'lock'; host: string; ok: boolean; holder?: string; continues?: boolean }
  | { event: 'phase'; phase: string }
  /**
   * command: the step's whole command, redacted. display: what to show of it on one line when
   * that is less (a task's own text, without the wrapper that runs it in its release).
   * kind: for the few steps the run reads more from than ok/failed ('swap' moves `current`,
   * and the host's health check follows it; 'migrate' runs the migrations).
   */
  | { event: 'task:start'; host: string; task: string; command?: string; display?: string; kind?: StepKind }
  /**
   * skipped: the task had nothing to do (when_changed). last: this was the final step of its
   * script, nothing of that script follows on the host (a step that fails ends its script too,
   * without this flag).
   */
  | { event: 'task:end'; host: string; task: string; ms: number; exitCode: number; skipped?: boolean; last?: boolean }
  | { event: 'output'; host: string; stream: 'stdout' | 'stderr'; line: string; task?: string }
  | { event: 'publish'; host: string; release: string; previous?: string; batch: number }
  | { event: 'health'; host: string; ok: boolean; attempt: number; detail: string; final?: boolean }
  // a host switched back (or, for `ship rollback`, to the target): `to` is where it was sent,
  // `current` where its `current` really points afterwards (null: no `current` link)
  | { event: 'rollback'; host: string; to?: string; from?: string; current: string | null; ok: boolean; reason?: string }
  | { event: 'prune'; host: string; removed: string[] }
  | { event: 'log'; level: 'info' | 'warn' | 'error'; message: string; host?: string }
  | {
      event: 'deploy:end' | 'rollback:end';
      ok: boolean;
      exitCode: number;
      release?: string;
      revision?: string;
      ms: number;
      current: Record<string, string | null>;
      error?: string;
    }
  // --dry-run: what a deploy or rollback would run, per host, in order; nothing is contacted
  | { event: 'plan:start'; command: 'deploy' | 'rollback'; hosts: string[]; release?: string; revision?: string; branch?: string; target?: string }
  | { event: 'plan'; host: string; phase: string; task: string; command: string; note?: string }
  | { event: 'plan:end'; ok: true; exitCode: 0; steps: number; ms: number }
  // a plan that could not be made (a bad config, selection or git ref): why, with the exit code ship ends with
  | { event: 'plan:end'; ok: false; exitCode: number; error: string; details?: string[]; ms: number }
  // `ship exec` and `ship run`: a host is done (exitCode null: nothing ran there, e.g. no current release)
  | { event: 'host:done'; host: string; ok: boolean; exitCode: number | null; ms: number; error?: string }
  // `ship exec` and `ship run`: each host's exit code (null: never ran, e.g. unreachable)
  | { event: 'exec:end' | 'run:end'; ok: boolean; exitCode: number; ms: number; hosts: Record<string, number | null>; task?: string; error?: string };

export type Emit = (e: ShipEvent) => void;

/**
 * What the commands that read or check rather than run write under --json, one event per
 * item, its fields those of the item: `releases` (a host's releases and lock), `history` (one
 * history entry), `task` and `hook` (ship tasks), `setup` and `setup:host` (ship setup),
 * `check` and `check:end` (ship check), `init` (the file ship init wrote), `backup` (a backup taken or
 * listed), `backup:verify` (a restore drill), `restore`, `logs:line` (a line of ship logs), `notify`
 * (what ship check --notify posted).
 */
export type ListingEvent = {
  event:
    | 'releases'
    | 'history'
    | 'task'
    | 'hook'
    | 'setup'
    | 'setup:host'
    | 'check'
    | 'check:end'
    | 'init'
    | 'backup'
    | 'backup:verify'
    | 'restore'
    | 'logs:line'
    | 'notify';
  [field: string]: unknown;
};
