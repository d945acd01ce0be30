import { shText } from '../shell/sh.js';

/**
 * How a script is run on both transports: `cat` reads the whole script from stdin before
 * `eval` runs any of it, so the script (and secrets exported in it) never appears in a
 * process's argv, and commands in it find their stdin at EOF.
 */
export const SCRIPT_SHELL = ['sh', '-c', 'eval "$(cat)"'] as const;

/** The same as one command line (`sh -c 'eval "$(cat)"'`), as a server's exec request carries it. */
export const SCRIPT_RUNNER = shText`${SCRIPT_SHELL}`;
