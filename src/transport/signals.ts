/**
 * Signals as both transports see them: the one an abort sends to a running script, how a
 * process that a signal ended gets its exit code, and the error an aborted command rejects with.
 */

/**
 * What an abort sends to a running script, by its SSH name (`SIGTERM` for a local process
 * group, a `TERM` signal request over SSH): scripts may trap it and clean up.
 */
export const STOP_SIGNAL = 'TERM';

/**
 * The signals an SSH server reports by name in an exit-signal message (RFC 4254 section 6.10),
 * with the numbers Linux gives them. All but USR1 and USR2 have these numbers on every POSIX
 * system; a signal not listed here counts as 0, so its exit code is 128.
 */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  ABRT: 6,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
};

/** `TERM` or `SIGTERM` → 15; 0 for a name the table does not hold. */
export function signalNumber(name: string): number {
  const bare = name.startsWith('SIG') ? name.slice(3) : name;
  return Object.hasOwn(SIGNAL_NUMBERS, bare) ? SIGNAL_NUMBERS[bare]! : 0;
}

/**
 * A finished process's exit code as a shell reports it: its own code, else 128 + the number of
 * the signal that ended it; undefined when it reported neither.
 */
export function exitCodeOf(code: number | null | undefined, signal: string | null | undefined): number | undefined {
  if (typeof code === 'number') return code;
  return signal ? 128 + signalNumber(signal) : undefined;
}

/** The error an aborted operation rejects with (named like DOMException's AbortError). */
export function abortError(what: string): Error {
  const err = new Error(`${what}: aborted`);
  err.name = 'AbortError';
  return err;
}
