/** `ship init`, `ship setup`, `ship check` and `ship tasks`: output only; the work is in src/setup. */
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, relative, resolve } from 'node:path';
import { formatProblem, parseConfig } from '../../config/index.js';
import { DeployError, UsageError } from '../../errors.js';
import { loadRecipe, type Recipe } from '../../recipes/load.js';
import { runCheck, type CheckReport } from '../../setup/check/run.js';
import type { CheckItem, CheckStatus } from '../../setup/check/judge.js';
import { detectProject, renderInit, schemaReference } from '../../setup/init.js';
import { setupStage } from '../../setup/setup.js';
import { listTasks, whereItRuns } from '../../setup/tasks-list.js';
import { readTemplate, SCHEMA_FILE } from '../../setup/templates.js';
import { loadStageAndRecipe } from '../config.js';
import { prepareRuntime, type GlobalOptions, type Runtime } from '../runtime.js';
import { table } from '../../ui/table.js';

interface Selection extends GlobalOptions {
  hosts?: string[];
  roles?: string[];
}
const pick = (f: Selection) => ({ ...(f.hosts ? { hosts: f.hosts } : {}), ...(f.roles ? { roles: f.roles } : {}) });

/** NDJSON line of a command that is not a deploy (the deploy events live in src/ui/events.ts). */
const jsonLine = (rt: Pick<Runtime, 'redact'>, stage: string | undefined, event: string, fields: object) =>
  process.stdout.write(rt.redact(JSON.stringify({ ts: new Date().toISOString(), event, ...(stage !== undefined ? { stage } : {}), ...fields })) + '\n');

function recipeOf(rt: Runtime): Recipe {
  const loaded = loadRecipe(rt.stage.recipe, rt.stage.configDir);
  if (!loaded.recipe || loaded.problems.length) throw new UsageError(`recipe ${rt.stage.recipe} is invalid`, loaded.problems.map(formatProblem));
  return loaded.recipe;
}

export async function initCommand(flags: GlobalOptions & { recipe?: string; force?: boolean }): Promise<void> {
  const cwd = process.cwd();
  const target = resolve(cwd, flags.config ?? 'deploy.yaml');
  const shown = relative(cwd, target) || basename(target);
  if (existsSync(target) && !flags.force) {
    throw new UsageError(`${shown} already exists; ship init did not touch it`, [], 'ship init --force overwrites it');
  }
  const dir = dirname(target);
  const facts = detectProject(dir);
  const detected = flags.recipe === undefined;
  if (flags.recipe !== undefined) facts.recipe = flags.recipe;
  const loaded = loadRecipe(facts.recipe, dir, cwd);
  if (!loaded.recipe || loaded.problems.length) throw new UsageError(`--recipe ${facts.recipe}: no such recipe`, loaded.problems.map(formatProblem));
  const text = renderInit({ template: readTemplate('deploy.yaml.tmpl'), facts, recipe: loaded.recipe, schemaRef: schemaReference(dir, SCHEMA_FILE) });
  // What init writes must load: checked here, not found out at the first deploy.
  const check = parseConfig({ text, path: target, cwd, env: {}, recipeTasks: Object.keys(loaded.recipe.tasks) });
  if (!check.ok) throw new Error(`ship init made an invalid ${shown}: ${check.problems.map(formatProblem).join('; ')}`);
  writeFileSync(target, text);
  const why = detected ? (facts.recipe === 'node' ? ' (package.json found)' : facts.recipe === 'rails' ? ' (Gemfile found)' : ' (no package.json or Gemfile)') : '';
  if (flags.json) return void jsonLine({ redact: (s) => s }, undefined, 'init', { file: target, recipe: facts.recipe, detected, app: facts.app });
  process.stdout.write(
    `wrote ${shown}: app ${facts.app}, recipe ${facts.recipe}${why}\n` +
      `next: put your servers under stages.production.hosts, then\n  ship setup production && ship check production && ship deploy production\n`,
  );
}

export async function tasksCommand(stageName: string | undefined, flags: GlobalOptions): Promise<void> {
  // Listing tasks needs no secrets: a missing ${VAR} must not stop it.
  const env = new Proxy({ ...process.env }, { get: (t, k) => (typeof k === 'string' ? (t[k] ?? '') : undefined) });
  const { stage, recipe } = await loadStageAndRecipe(stageName, flags.config, process.cwd(), env);
  const { tasks, hooks } = listTasks(stage);
  if (flags.json) {
    const rt = { redact: (s: string) => s };
    for (const t of tasks) jsonLine(rt, stage.stage, 'task', t);
    for (const h of hooks) jsonLine(rt, stage.stage, 'hook', h);
    return;
  }
  const out: string[] = [`stage ${stage.stage}, recipe ${recipe.name}${recipe.desc ? `: ${recipe.desc}` : ''}`, ''];
  if (tasks.length === 0) out.push('no tasks (the base recipe: add some under tasks: in deploy.yaml)');
  else out.push(table([['task', 'slot', 'runs on', 'from', 'description'], ...tasks.map((t) => [t.name, t.slot, whereItRuns(t), t.source, t.desc])]));
  if (hooks.length) out.push('', table([['hook', 'runs'], ...hooks.map((h) => [h.hook, h.runs.join(', ')])]));
  process.stdout.write(out.join('\n') + '\n');
}

export async function setupCommand(stageName: string, flags: Selection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const templates = { logrotate: readTemplate('logrotate.tmpl'), systemd: readTemplate('systemd.service.tmpl') };
    const results = await setupStage(rt.stage, recipeOf(rt), templates, pick(flags), rt.env);
    for (const r of results) {
      const changed = r.lines.filter((l) => l.kind === 'changed').length;
      if (rt.json) {
        for (const l of r.lines) jsonLine(rt, rt.stage.stage, 'setup', { host: r.host, status: l.kind, detail: l.text });
        jsonLine(rt, rt.stage.stage, 'setup:host', { host: r.host, ok: !r.error, changed, ...(r.error ? { error: r.error } : {}) });
        continue;
      }
      const shown = r.lines.filter((l) => l.kind !== 'unchanged' || flags.verbose).map((l) => `  ${l.kind.padEnd(9)} ${l.text}`);
      const kept = r.lines.length - changed - r.lines.filter((l) => l.kind === 'warn' || l.kind === 'note').length;
      const summary = r.error ? `  FAILED: ${r.error}` : changed === 0 ? `  nothing changed: already set up (${kept} item(s) in place)` : `  ${changed} change(s), ${kept} item(s) already in place`;
      rt.say(`${r.host}\n${[...shown, summary].join('\n')}`);
    }
    const failed = results.filter((r) => r.error);
    if (failed.length) {
      throw new DeployError(`setup failed on ${failed.length} of ${results.length} host(s)`, failed.map((r) => `${r.host}: ${r.error}`), 'fix what is named above, then run ship setup again: it only does what is missing');
    }
  } finally {
    rt.dispose();
  }
}

export async function checkCommand(stageName: string, flags: Selection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const report = await runCheck({
      stage: rt.stage,
      recipe: recipeOf(rt),
      selection: pick(flags),
      env: rt.env,
      lock: { machine: hostname(), alive: pidAlive },
    });
    const items = [...report.hosts.flatMap((h) => h.items), ...report.certificates];
    const count = (s: CheckStatus) => items.filter((i) => i.status === s).length;
    if (rt.json) {
      for (const i of items) jsonLine(rt, rt.stage.stage, 'check', i);
      jsonLine(rt, rt.stage.stage, 'check:end', { ok: count('fail') === 0, pass: count('pass'), warn: count('warn'), fail: count('fail') });
    } else {
      rt.say(checklist(report));
      rt.say(`${count('pass')} passed, ${count('warn')} warning(s), ${count('fail')} failed`);
    }
    const failed = items.filter((i) => i.status === 'fail');
    if (failed.length) {
      throw new DeployError(
        `stage ${rt.stage.stage} is not ready: ${failed.length} check(s) failed`,
        failed.map((i) => `${i.host}: ${i.check}: ${i.detail}`),
      );
    }
  } finally {
    rt.dispose();
  }
}

const MARK: Record<CheckStatus, string> = { pass: 'ok  ', warn: 'warn', fail: 'FAIL' };

function checklist(report: CheckReport): string {
  const block = (title: string, items: CheckItem[], label: (i: CheckItem) => string) =>
    [title, ...table(items.map((i) => [MARK[i.status], label(i), i.detail])).split('\n').map((l) => `  ${l}`)].join('\n');
  const parts = report.hosts.map((h) => block(h.host, h.items, (i) => i.check));
  if (report.certificates.length) parts.push(block('TLS certificates, read from this machine', report.certificates, (i) => i.host));
  return parts.join('\n');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
