import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FixtureRepo } from './repo.js';

/**
 * npm packages made here for tests that install dependencies without the registry: each is
 * packed as a tarball into the fixture repo's vendor/ and depended on as file:vendor/<tgz>,
 * and the lockfile is written by npm itself.
 */
export interface TestPackage {
  name: string;
  version: string;
  /** Files of the package besides package.json (index.js by default exports its version). */
  files?: Record<string, string>;
  scripts?: Record<string, string>;
}

/** Packs a package into `<repo>/vendor/` and returns the file name of its tarball. */
export function packInto(repo: FixtureRepo, p: TestPackage): string {
  const src = mkdtempSync(join(tmpdir(), `ship-pkg-${p.name}-`));
  writeFileSync(join(src, 'package.json'), JSON.stringify({ name: p.name, version: p.version, main: 'index.js', scripts: p.scripts ?? {} }));
  const files = { 'index.js': `module.exports = { version: ${JSON.stringify(p.version)} };\n`, ...p.files };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(src, name)), { recursive: true });
    writeFileSync(join(src, name), content);
  }
  mkdirSync(join(repo.dir, 'vendor'), { recursive: true });
  execFileSync('npm', ['pack', '--silent', '--pack-destination', join(repo.dir, 'vendor')], { cwd: src, stdio: 'ignore' });
  rmSync(src, { recursive: true });
  return `${p.name}-${p.version}.tgz`;
}

/** Replaces vendor/ and the app's dependencies with these packages, writes the lockfile, commits. */
export function dependOn(repo: FixtureRepo, deps: TestPackage[], devDeps: TestPackage[] = [], extra: Record<string, unknown> = {}): string {
  rmSync(join(repo.dir, 'vendor'), { recursive: true, force: true });
  const pkg = JSON.parse(readFileSync(join(repo.dir, 'package.json'), 'utf8'));
  const spec = (ps: TestPackage[]) => Object.fromEntries(ps.map((p) => [p.name, `file:vendor/${packInto(repo, p)}`]));
  Object.assign(pkg, { dependencies: spec(deps), devDependencies: spec(devDeps) }, extra);
  writeFileSync(join(repo.dir, 'package.json'), JSON.stringify(pkg, null, 2));
  execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--silent'], { cwd: repo.dir, stdio: 'ignore' });
  return repo.commit({}, `depend on ${deps.map((p) => `${p.name}@${p.version}`).join(', ')}`);
}
