/**
 * The closed set of errors ship raises, each with its exit code (the table below).
 * Library code throws these; only src/cli/main.ts prints them and exits.
 */

export const ExitCode = {
  ok: 0,
  failed: 1, // failed before publish: nothing changed
  usage: 2, // bad usage or config
  rolledBack: 3, // failed after publish, the fleet was rolled back
  locked: 4, // the stage is locked
  rollbackFailed: 5, // the way back itself failed: hosts may differ
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class ShipError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  /** Each host's `current` when the run ended, where the run got far enough to know it. */
  current?: Record<string, string | null>;
  /** The release and commit the run was making when it failed, where it got far enough to know them. */
  release?: string;
  revision?: string;
  /**
   * @param details one line per problem or per host, printed under the message
   * @param hint what the user can do next
   */
  constructor(
    message: string,
    readonly details: string[] = [],
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command line or configuration (exit 2). */
export class UsageError extends ShipError {
  readonly exitCode = ExitCode.usage;
}

/** A failure before anything was published (exit 1): every host's `current` is untouched. */
export class DeployError extends ShipError {
  readonly exitCode = ExitCode.failed;
}

/** Publishing failed and every published host was put back (exit 3). */
export class RolledBackError extends ShipError {
  readonly exitCode = ExitCode.rolledBack;
}

/** The stage is locked by someone else (exit 4). */
export class LockedError extends ShipError {
  readonly exitCode = ExitCode.locked;
}

/** Going back failed: hosts may be on different releases (exit 5). `details` lists each host's current. */
export class RollbackFailedError extends ShipError {
  readonly exitCode = ExitCode.rollbackFailed;
}

/** The run was interrupted by SIGINT, SIGTERM or SIGHUP and wound down (exit 130). */
export class InterruptedError extends ShipError {
  readonly exitCode = ExitCode.interrupted;
}

/** A command that failed on a host: names the host, the task, the redacted command, the exit code and the tail of stderr. */
export class RemoteCommandError extends Error {
  constructor(
    readonly host: string,
    readonly task: string,
    readonly command: string, // already redacted
    readonly exitCode: number,
    readonly stderrTail: string[], // already redacted
  ) {
    super(`${task} failed on ${host} (exit ${exitCode}): ${command}${stderrTail.length ? `\n    ${stderrTail.join('\n    ')}` : ''}`);
    this.name = 'RemoteCommandError';
  }
}
