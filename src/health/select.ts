import type { HealthSettings, HostConfig, StageConfig } from '../config/types.js';

/** The health checks one host must pass: those without roles, and those naming one of its roles. */
export function healthChecksFor(stage: StageConfig, host: HostConfig): HealthSettings[] {
  const all = stage.healthChecks ?? (stage.health ? [stage.health] : []);
  return all.filter((c) => !c.roles?.length || host.roles.some((r) => c.roles!.includes(r)));
}
