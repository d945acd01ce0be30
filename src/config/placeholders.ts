/**
 * `{{name}}` placeholders: what a template names, and the check, when deploy.yaml is loaded,
 * that every placeholder written in it names something ship or `vars:` will fill. A typo
 * (`{{releese}}`) is then a problem at its line and column before anything connects, not a
 * failure half-way through a deploy.
 */
import type { LoadedConfig } from './loaded.js';
import { displayPath, type Path, positionOf } from './positions.js';
import { closest } from './suggest.js';
import type { ConfigProblem } from './types.js';

/** `{{ name }}`: names are identifiers; anything else between braces is left alone. */
export const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The names a template uses, in order of first use. */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

type Node = unknown;
const isMap = (v: Node): v is Record<string, Node> => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: Node): [string, Node][] => (isMap(v) ? Object.entries(v) : []);

/** A filled text of deploy.yaml, with its path and the names it may use beyond the common ones. */
type Template = [path: Path, text: string, extra?: readonly string[]];

/** What the load balancer's own commands are also given: the host's name in the balancer, and its backend. */
const BALANCER_NAMES = ['server', 'backend'] as const;

/** Every filled text of one level of deploy.yaml (the top, or a stage), with its path. */
function templatesOf(level: Record<string, Node>, base: Path): Template[] {
  const found: Template[] = [];
  const text = (path: Path, v: Node, extra?: readonly string[]): void => {
    if (typeof v === 'string') found.push(extra ? [path, v, extra] : [path, v]);
  };
  /** A task: a command, a list of commands, or a map whose run is one of those. */
  const task = (path: Path, v: Node): void => {
    if (isMap(v)) task([...path, 'run'], v.run);
    else if (Array.isArray(v)) for (const [i, c] of v.entries()) text([...path, i], c);
    else text(path, v);
  };
  for (const [name, t] of entries(level.tasks)) task([...base, 'tasks', name], t);
  for (const [key, list] of entries(level.hooks)) {
    if (Array.isArray(list)) for (const [i, h] of list.entries()) if (isMap(h)) task([...base, 'hooks', key, i], h);
  }
  const checks = Array.isArray(level.health)
    ? level.health.map((h, i) => [[...base, 'health', i], h] as const)
    : [[[...base, 'health'], level.health] as const];
  for (const [path, check] of checks) for (const field of ['http', 'tcp', 'command']) text([...path, field], isMap(check) ? check[field] : undefined);
  for (const [name, v] of entries(level.vars)) text([...base, 'vars', name], v);
  if (isMap(level.load_balancer)) {
    const lb = level.load_balancer;
    text([...base, 'load_balancer', 'server'], lb.server);
    for (const key of ['drain', 'enable', 'sessions']) text([...base, 'load_balancer', key], lb[key], BALANCER_NAMES);
  }
  const hosts = Array.isArray(level.hosts) ? level.hosts : [];
  for (const [i, h] of hosts.entries()) for (const [name, v] of entries(isMap(h) ? h.vars : undefined)) text([...base, 'hosts', i, 'vars', name], v);
  return found;
}

/**
 * Problems with the placeholders of the top level and of one stage: each one that names
 * neither a fact ship fills (`known`) nor a var, at the line and column of the value.
 */
export function placeholderProblems(loaded: LoadedConfig, stageName: string, known: ReadonlySet<string>): ConfigProblem[] {
  const raw = loaded.raw as unknown as Record<string, Node>;
  const stage = entries(raw.stages).find(([name]) => name === stageName)?.[1];
  const texts = [...templatesOf(raw, []), ...(isMap(stage) ? templatesOf(stage, ['stages', stageName]) : [])];
  return texts.flatMap(([path, template, extra = []]) =>
    placeholders(template)
      .filter((name) => !known.has(name) && !extra.includes(name))
      .map((name) => {
        const pos = positionOf(loaded.positions, path, 'value');
        const near = closest(name, [...known, ...extra]);
        const message = `unknown placeholder {{${name}}}${near !== undefined ? ` (did you mean {{${near}}}?)` : ''}`;
        return { file: loaded.file, line: pos.line, col: pos.col, path: displayPath(path), message };
      }),
  );
}

/** Every var name a stage may fill: the recipe's, the top level's, the stage's, each host's. */
export function varNames(loaded: LoadedConfig, stageName: string, recipeVars: Readonly<Record<string, string>>): string[] {
  const raw = loaded.raw as unknown as Record<string, Node>;
  const stage = entries(raw.stages).find(([name]) => name === stageName)?.[1];
  const hosts = isMap(stage) && Array.isArray(stage.hosts) ? stage.hosts : [];
  return [
    ...Object.keys(recipeVars),
    ...entries(raw.vars).map(([k]) => k),
    ...(isMap(stage) ? entries(stage.vars).map(([k]) => k) : []),
    ...hosts.flatMap((h) => entries(isMap(h) ? h.vars : undefined).map(([k]) => k)),
  ];
}
