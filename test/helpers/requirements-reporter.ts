/**
 * A vitest reporter that says, as the last thing a run prints, which end-to-end tests did not
 * run because this machine lacks what they need (see requirements.ts), and the command that
 * installs it. With CI set those files failed instead of skipping: it says so, and makes sure
 * the run fails.
 */
import { relative, sep } from 'node:path';
import { styleText } from 'node:util';
import type { Reporter, TestModule, TestRunEndReason, Vitest } from 'vitest/node';
import { CAPABILITIES, describeLacks, lacksFor, machine, REQUIREMENTS_ERROR, type Lack } from './requirements.js';

/** An end-to-end file that did not run in full: how many of its tests were skipped, or it failed. */
export interface Affected {
  file: string;
  skipped: number;
  /** It failed at collection because of what the machine lacks (CI set). */
  failed: boolean;
}

const E2E_DIR = `test${sep}e2e${sep}`;

/** The block printed at the end of the run; `color` for a terminal. */
export function requirementsReport(lacks: readonly Lack[], affected: readonly Affected[], opts: { root: boolean; ci: boolean; color: boolean }): string {
  const skipped = affected.reduce((n, a) => n + a.skipped, 0);
  const failed = affected.filter((a) => a.failed).length;
  const paint = (s: string) => (opts.color ? styleText(['bold', opts.ci ? 'red' : 'yellow'], s) : s);
  const rule = paint('━'.repeat(78));
  const headline = opts.ci
    ? `END-TO-END TESTS FAILED: CI is set, so they may not be skipped (${failed} ${plural(failed, 'file')} failed)`
    : `END-TO-END TESTS SKIPPED: ${skipped} ${plural(skipped, 'test')} in ${affected.length} ${plural(affected.length, 'file')} did not run`;
  const width = Math.max(...affected.map((a) => a.file.length));
  const files = affected.map((a) => `  ${a.file.padEnd(width)}  ${a.failed ? 'failed' : `${a.skipped} skipped`}`);
  return ['', rule, paint(headline), rule, ...describeLacks(lacks, opts.root), opts.ci ? 'Files:' : 'Skipped:', ...files, rule, ''].join('\n');
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

/** The end-to-end files of the run that skipped tests or failed for lack of requirements. */
export function affectedModules(modules: readonly TestModule[], rootDir: string): Affected[] {
  return modules
    .map((m) => ({
      file: relative(rootDir, m.moduleId),
      skipped: [...m.children.allTests('skipped')].length,
      failed: m.errors().some((e) => e.name === REQUIREMENTS_ERROR),
    }))
    .filter((a) => a.file.startsWith(E2E_DIR) && (a.skipped > 0 || a.failed))
    .sort((a, b) => a.file.localeCompare(b.file));
}

export default class RequirementsReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(modules: readonly TestModule[], _errors: unknown, reason: TestRunEndReason): void {
    if (!this.vitest || reason === 'interrupted') return;
    const lacks = lacksFor(CAPABILITIES, machine);
    if (lacks.length === 0) return;
    const affected = affectedModules(modules, this.vitest.config.root);
    if (affected.length === 0) return;
    if (machine.ci) process.exitCode = 1;
    const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
    this.vitest.logger.log(requirementsReport(lacks, affected, { root: machine.root, ci: machine.ci, color }));
  }
}
