/**
 * The end-to-end test fleet: real OpenSSH servers on loopback, started and torn down by the
 * tests themselves (hosts.ts), one host's sshd (sshd.ts), its login user (users.ts), finding
 * and killing process trees (processes.ts), and what kills a fleet whose test process is gone
 * (safety-net.ts, reaper.cjs). Only node builtins, so the harness does not depend on the code
 * under test.
 */
export { fleetAvailable, startFleet, type FleetOptions } from './hosts.js';
export { isAlive, isProcessPid, killTreeSync, signalGroup, signalPid, TAG_VAR } from './processes.js';
export { FLEET_DIR_PREFIX, reaperArgs } from './safety-net.js';
export type { ExecResult, Fleet, FleetHost } from './types.js';
