/**
 * deploy.yaml text → validated data, or every problem in it. Parsing keeps positions;
 * the structural walk checks shapes; rules check what spans several keys.
 */
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { nestingProblem } from './depth.js';
import { NO_POS, displayPath, positionOf, type NodePosition, type Path, type PositionIndex } from './positions.js';
import { sortProblems } from './problem.js';
import type { LooseConfig, Rule, RuleContext } from './rules/context.js';
import { envReferencesWellFormed, secretsNameEnvEntries, varsDoNotShadowBuiltIns } from './rules/env.js';
import { deployToEverywhere, onePrimaryPerRole, sshShortcutsNotTwice, uniqueHostNames } from './rules/hosts.js';
import { loadBalancerComplete } from './rules/load-balancer.js';
import { hooksNameKnownTasks, rolesExist } from './rules/tasks.js';
import { configSchema, type RawConfig } from './schema.js';
import type { ConfigProblem } from './types.js';
import { walk } from './walk.js';

/** Task names of a recipe (one list for every recipe, or looked up by recipe name). */
export type RecipeTaskNames = readonly string[] | ((recipe: string) => readonly string[] | undefined);

export interface ValidateOptions {
  text: string;
  /** The file as the user should see it in messages. */
  file: string;
  recipeTasks?: RecipeTaskNames;
  /** The config file's directory: local deploy_to paths are judged relative to it. */
  configDir?: string;
}

export type Validated = { ok: true; raw: RawConfig; positions: PositionIndex } | { ok: false; problems: ConfigProblem[] };

export const RULES: readonly Rule[] = [
  uniqueHostNames,
  onePrimaryPerRole,
  sshShortcutsNotTwice,
  deployToEverywhere,
  rolesExist,
  hooksNameKnownTasks,
  envReferencesWellFormed,
  secretsNameEnvEntries,
  varsDoNotShadowBuiltIns,
  loadBalancerComplete,
];

export function validateConfigText({ text, file, recipeTasks, configDir }: ValidateOptions): Validated {
  const lineCounter = new LineCounter();
  const deep = nestingProblem(text, file);
  if (deep) return { ok: false, problems: [deep] };
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    merge: true,
    uniqueKeys: false, // duplicates are reported by the walk, with their key path
  });
  const firstError = doc.errors[0];
  if (firstError) {
    // The parser's later errors mostly follow from the first one: show that one, well.
    return { ok: false, problems: [syntaxProblem(firstError, doc.errors.length, text, file, lineCounter)] };
  }
  if (doc.contents === null) {
    return {
      ok: false,
      problems: [{ file, line: 1, col: 1, path: '', message: 'the file is empty: `ship init` writes a starting point' }],
    };
  }

  const problems: ConfigProblem[] = [];
  const positions = new Map<string, NodePosition>();
  const raw = walk({ doc, lineCounter, file, problems, positions }, configSchema, doc.contents, [], { line: 1, col: 1 });
  if (raw !== undefined) {
    const ctx = { ...ruleContext(raw as LooseConfig, positions, file, problems, recipeTasks), ...(configDir ? { configDir } : {}) };
    for (const rule of RULES) rule(ctx);
  }
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  return { ok: true, raw: raw as RawConfig, positions };
}

function ruleContext(
  raw: LooseConfig,
  positions: PositionIndex,
  file: string,
  problems: ConfigProblem[],
  recipeTasks: RecipeTaskNames | undefined,
): RuleContext {
  return {
    raw,
    at: (path: Path) => positionOf(positions, path),
    report(path, message, part = 'value') {
      const pos = positionOf(positions, path, part);
      problems.push({ file, line: pos.line, col: pos.col, path: displayPath(path), message });
    },
    recipeTasks: (recipe) => (typeof recipeTasks === 'function' ? recipeTasks(recipe) : (recipeTasks ?? [])),
  };
}

function syntaxProblem(error: YAMLError, count: number, text: string, file: string, lineCounter: LineCounter): ConfigProblem {
  const pos = error.pos[0] >= 0 ? lineCounter.linePos(error.pos[0]) : NO_POS;
  const line = text.split('\n')[pos.line - 1] ?? '';
  const hint = line.includes('{{') ? ' (quote a value with {{...}} in it: "{{host}}:3000")' : '';
  const more = count > 1 ? ` [${count - 1} more YAML error${count > 2 ? 's' : ''} may follow from this one]` : '';
  const message =
    error.code === 'MULTIPLE_DOCS'
      ? 'deploy.yaml holds one YAML document: remove the "---" that starts a second one'
      : `YAML syntax: ${error.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '')}${hint}${more}`;
  return { file, line: pos.line, col: pos.col, path: '', message };
}
