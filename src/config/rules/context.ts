/** What every cross-field rule gets: the data that passed the structural walk, and a way to report. */
import type { Loose } from '../dsl.js';
import type { Path, Pos } from '../positions.js';
import { DEFAULTS, type RawConfig, type RawHostObject, type RawStage } from '../schema.js';

export type LooseConfig = Loose<RawConfig>;
export type LooseStage = Loose<RawStage>;

export interface RuleContext {
  raw: LooseConfig;
  at(path: Path): Pos;
  report(path: Path, message: string, part?: 'key' | 'value'): void;
  /** Task names of a recipe; undefined when they are not known (names are then not checked). */
  recipeTasks(recipe: string): readonly string[] | undefined;
  /** The config file's directory (local paths are relative to it), when known. */
  configDir?: string;
}

export type Rule = (ctx: RuleContext) => void;

export function stagesOf(raw: LooseConfig): [string, LooseStage][] {
  return Object.entries(raw.stages ?? {}).flatMap(([name, stage]) => (stage ? [[name, stage]] : []));
}

export interface HostView {
  index: number;
  path: Path; // of the host entry
  name?: string;
  roles: string[];
  primary: boolean;
  local: boolean;
  details?: Loose<RawHostObject>; // the map form, when the host was written as one
}

export function hostsOf(stageName: string, stage: LooseStage): HostView[] {
  return (stage.hosts ?? []).flatMap((host, index): HostView[] => {
    const path = ['stages', stageName, 'hosts', index];
    if (host === undefined) return [];
    if (typeof host === 'string') {
      return [{ index, path, name: host, roles: [...DEFAULTS.hostRoles], primary: false, local: false }];
    }
    return [
      {
        index,
        path,
        name: host.host,
        roles: (host.roles ?? DEFAULTS.hostRoles).filter((r): r is string => r !== undefined),
        primary: host.primary ?? false,
        local: host.local ?? false,
        details: host,
      },
    ];
  });
}

export function definedKeys(record: Readonly<Record<string, unknown>> | undefined): string[] {
  return Object.keys(record ?? {});
}
