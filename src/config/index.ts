/** The config module: find, load and validate deploy.yaml, then resolve one stage. */
export { findConfigFile, loadConfig, parseConfig } from './load.js';
export type { FindConfigOptions, FoundConfig, LoadConfigOptions, LoadedResult, ParseConfigOptions } from './load.js';
export type { LoadedConfig } from './loaded.js';
export { resolveStage } from './resolve.js';
export type { ResolveOptions, ResolvedStage } from './resolve.js';
export { validateConfigText } from './validate.js';
export type { RecipeTaskNames, ValidateOptions, Validated } from './validate.js';
export { formatProblem, sortProblems } from './problem.js';
export { parseDuration, parseSize, formatDuration, formatSize } from './units.js';
export type { Parsed } from './units.js';
export { HOOK_POINTS, PHASES, PROTOCOL, PROTOCOL_SLOTS } from './protocol.js';
export { DEFAULTS, TEMPLATE_NAMES } from './schema.js';
export { toJsonSchema, renderJsonSchema } from './json-schema.js';
export type * from './types.js';
