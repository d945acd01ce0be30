/**
 * Loads the e2e fleet harness (test/helpers/fleet/) from plain node, without tsx or vitest:
 * its files use node builtins only, so stripping their types with the TypeScript compiler that
 * is already a devDependency (ts.transpileModule, no type checking) gives modules node can
 * import. They go to bench-results/.cache/helpers/ (gitignored) with the same layout (the
 * whole of test/helpers), the reaper beside them, rewritten on every run, so the bench always
 * uses the harness the e2e tests use.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

function transpile(from, to) {
  const out = ts.transpileModule(readFileSync(from, 'utf8'), {
    fileName: from,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  });
  writeFileSync(to.replace(/\.ts$/, '.js'), out.outputText);
}

function copyTree(from, to) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const [src, dst] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory()) copyTree(src, dst);
    else if (entry.name.endsWith('.ts')) transpile(src, dst);
    else copyFileSync(src, dst);
  }
}

/** Another helper of the cache that loadFleetHarness filled (e.g. 'haproxy.js'). */
export const cachedHelper = (root, name) => import(pathToFileURL(join(root, 'bench-results', '.cache', 'helpers', name)).href);

export async function loadFleetHarness(root) {
  const helpers = join(root, 'test', 'helpers');
  const cache = join(root, 'bench-results', '.cache', 'helpers');
  rmSync(cache, { recursive: true, force: true });
  // all of test/helpers (a helper's imports change: no list to keep in step; only what the
  // harness imports is ever loaded)
  copyTree(helpers, cache);
  return import(`${pathToFileURL(join(cache, 'fleet', 'index.js')).href}?t=${Date.now()}`);
}
