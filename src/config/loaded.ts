import type { PositionIndex } from './positions.js';
import type { RawConfig } from './schema.js';

/** A deploy.yaml that passed validation, before any stage is chosen. */
export interface LoadedConfig {
  /** The file as shown in messages (relative to cwd). */
  file: string;
  configPath: string; // absolute
  configDir: string; // absolute
  raw: RawConfig;
  stages: string[]; // in file order
  /** Where each key and value was written, for problems found while resolving a stage. */
  positions: PositionIndex;
  /** The environment ${NAME} references are read from. */
  env: Readonly<Record<string, string | undefined>>;
}
