/**
 * The run engine every command stands on: the run's context (RunEnv), connections, opening a
 * fleet under its lock, running steps on hosts, host selection and task resolution. It knows
 * nothing of deploys, health checks or setup: those stand on it.
 */
export { systemClock, type Clock } from './clock.js';
export { startConnecting, type Connections } from './connections.js';
export { describeFailures, runOn, runOnEach, type Reached, type StepsOn } from './fan-out.js';
export { openFleet, type EarlyWork, type Member, type OpenFleet, type OpenFleetOptions, type Piggyback } from './fleet.js';
export { closeFleet, releaseFleet, releaseLocks, unlockWhereFailed, type Lockable } from './locks.js';
export { mapSettled } from './pool.js';
export { calm, type Operator, type RunEnv } from './run-env.js';
export { runSteps, stepOfKind, type RunStepsOptions, type ScriptOutcome, type StepOutcome, type StepRunner } from './run-steps.js';
export { primaryFor, selectHosts, type HostSelection } from './select.js';
export * from './tasks.js';
