import { posix } from 'node:path';

/** Every path of the server layout (releases/, shared/, repo/, deps/, current, .ship/) on one host, from its deploy_to. Hosts are POSIX. */
export interface ServerPaths {
  root: string;
  releases: string;
  shared: string;
  repo: string;
  /** Dependency installs shared by releases: deps/<name>/node_modules, one per lockfile (recipe node). */
  deps: string;
  current: string;
  shipDir: string;
  lock: string;
  lockOwner: string;
  next: string; // scratch directory where the new `current` link is made before the rename
  history: string;
  release(id: string): string;
}

export function serverPaths(deployTo: string): ServerPaths {
  const root = posix.normalize(deployTo).replace(/\/+$/, '') || '/';
  const at = (...p: string[]) => posix.join(root, ...p);
  return {
    root,
    releases: at('releases'),
    shared: at('shared'),
    repo: at('repo'),
    deps: at('deps'),
    current: at('current'),
    shipDir: at('.ship'),
    lock: at('.ship', 'lock'),
    lockOwner: at('.ship', 'lock', 'owner.json'),
    next: at('.ship', 'next'),
    history: at('.ship', 'history.jsonl'),
    release: (id: string) => at('releases', id),
  };
}

/** Marker files inside a release directory. */
export const FAILED_MARKER = '.ship-failed';
export const PREPARING_MARKER = '.ship-preparing';
export const MIGRATED_MARKER = '.ship-migrated';
