/** The primary: the one host of a stage that runs once-only work (migrations). */
import type { HostConfig } from './types.js';

type PrimaryInput = Pick<HostConfig, 'roles'> & { declaredPrimary: boolean };

/**
 * Which hosts of a stage are marked primary: the ones that say `primary: true` (at most one
 * per role, checked by validation); when none does, the first `db` host, else the first host.
 */
export function markPrimaries<T extends PrimaryInput>(hosts: readonly T[]): boolean[] {
  if (hosts.some((h) => h.declaredPrimary)) return hosts.map((h) => h.declaredPrimary);
  const db = hosts.findIndex((h) => h.roles.includes('db'));
  const chosen = Math.max(db, 0);
  return hosts.map((_, index) => index === chosen);
}
