/**
 * The documentation holds up: every link between its pages reaches a file, every example
 * runs the app's own ship (never a bare `npx ship`, which fetches another package from the
 * registry), and every deploy.yaml shown whole is one ship accepts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problem.js';
import { ROOT } from '../helpers/repo.js';

const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const text = (page: string) => readFileSync(join(ROOT, page), 'utf8');

/** Fenced code blocks of a page, with their language. */
function blocks(page: string): { lang: string; body: string }[] {
  return [...text(page).matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

describe('the docs', () => {
  it('link only to files that exist', () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      for (const [, target] of text(page).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const file = resolve(dirname(join(ROOT, page)), target!);
        if (!existsSync(file)) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("run the app's own ship in every example: npx --no ship, never a bare npx ship or ship", () => {
    const wrong: string[] = [];
    for (const page of PAGES) {
      // inline, `npx ship` alone is the warning against it; with a command it is an example
      for (const [code] of text(page).matchAll(/`npx (?!--no\b)[^`]*\bship [a-z][^`]*`/g)) wrong.push(`${page}: ${code}`);
      for (const { lang, body } of blocks(page)) {
        for (const line of body.split('\n')) {
          if (/\bnpx (?!--no\b)(.* )?ship\b/.test(line) || (lang === 'sh' && /^ship /.test(line)) || /^\$ ship /.test(line)) wrong.push(`${page}: ${line}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('show whole deploy.yaml files that ship accepts', () => {
    const problems: string[] = [];
    let seen = 0;
    for (const page of PAGES) {
      for (const { lang, body } of blocks(page)) {
        if (lang !== 'yaml' || !/^app: /m.test(body) || !/^stages:/m.test(body)) continue;
        seen++;
        const r = parseConfig({ text: body, path: 'deploy.yaml', cwd: '/app', env: {} });
        if (!r.ok) problems.push(`${page}:\n${r.problems.map(formatProblem).join('\n')}`);
      }
    }
    expect(problems).toEqual([]);
    expect(seen).toBeGreaterThanOrEqual(3);
  });
});
