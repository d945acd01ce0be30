import { createWriteStream, mkdirSync, openSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { formatReleaseId } from '../release/id.js';
import type { Redact } from './redact.js';
import { plainReporter, type Reporter } from './reporter.js';

export interface DeployLog extends Reporter {
  /** Where the log is, once it has a name (after the first event, at the latest at close). */
  readonly path: string | undefined;
  /** Why the log could not be written, if it could not: the deploy goes on regardless. */
  readonly error: string | undefined;
}

/** Logs kept per stage: a laptop that deploys every day must not fill up with them. */
const KEEP_LOGS = 50;

/**
 * The deploy log: every event of a deploy or rollback, command output included, as the plain
 * lines CI prints with --verbose, redacted, in `<dir>/<stage>-<release>.log` (a rollback, or a
 * deploy that ended before it had a release id: `<stage>-<start time>[-rollback].log`; a name
 * already taken gets `-2`, `-3`...). It is
 * written as the run goes, so a killed run still leaves what happened until then.
 */
export function deployLog(o: { dir: string; stage: string; kind: 'deploy' | 'rollback'; redact: Redact; now?: () => Date }): DeployLog {
  const now = o.now ?? (() => new Date());
  const startedAt = formatReleaseId(now());
  let file: WriteStream | undefined;
  let path: string | undefined;
  let error: string | undefined;
  let pending = '';

  const open = (id: string) => {
    if (file || error) return;
    try {
      mkdirSync(o.dir, { recursive: true, mode: 0o700 });
      pruneLogs(o.dir, o.stage);
      const created = createUnique(o.dir, `${o.stage}-${id}${o.kind === 'rollback' ? '-rollback' : ''}`);
      path = created.path;
      file = createWriteStream(path, { fd: created.fd });
      file.on('error', (e) => (error ??= e.message));
      file.write(pending);
      pending = '';
    } catch (e) {
      error = (e as Error).message;
      path = undefined;
    }
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (file) file.write(chunk);
      else if (!error) pending += chunk.toString('utf8');
      done();
    },
  });
  const lines = plainReporter({ stage: o.stage, out: sink, redact: o.redact, now, verbose: true, color: false });

  return {
    get path() {
      return path;
    },
    get error() {
      return error;
    },
    emit(e) {
      // a deploy's log is named for its release, known once every host answered
      if (e.event === 'deploy:start' && o.kind === 'deploy') open(e.release);
      lines.emit(e);
    },
    close: async () => {
      open(startedAt);
      await new Promise<void>((resolve) => sink.end(resolve));
      const f = file;
      if (f) await new Promise<void>((resolve) => f.end(resolve));
    },
  };
}

/**
 * Creates `<name>.log`, else `<name>-2.log`, `-3`... (two runs in one second, a rollback
 * right after another): never an existing file, so no run ever writes into another's log.
 * Only the deploying user can read it (0600): it holds every command and its output.
 */
function createUnique(dir: string, name: string): { path: string; fd: number } {
  for (let n = 1; ; n++) {
    const path = join(dir, `${name}${n === 1 ? '' : `-${n}`}.log`);
    try {
      return { path, fd: openSync(path, 'wx', 0o600) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw e;
    }
  }
}

/** Removes the oldest logs of the stage beyond KEEP_LOGS (names start with a sortable time). */
function pruneLogs(dir: string, stage: string): void {
  const mine = readdirSync(dir)
    .filter((f) => f.startsWith(`${stage}-`) && /^\d{14}/.test(f.slice(stage.length + 1)) && f.endsWith('.log'))
    .sort();
  for (const f of mine.slice(0, Math.max(0, mine.length - (KEEP_LOGS - 1)))) rmSync(join(dir, f), { force: true });
}
