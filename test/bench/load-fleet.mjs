/**
 * Loads the e2e fleet harness (test/e2e/fleet.ts) from plain node, without tsx or vitest:
 * the file uses node builtins only, so stripping its types with the TypeScript compiler that
 * is already a devDependency (ts.transpileModule, no type checking, ~100 ms) gives a module
 * node can import. The output goes to bench-results/.cache/ (gitignored) and is rewritten
 * on every run, so the bench always uses the harness the e2e tests use.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

export async function loadFleetHarness(root) {
  const src = readFileSync(join(root, 'test', 'e2e', 'fleet.ts'), 'utf8');
  const out = ts.transpileModule(src, {
    fileName: 'fleet.ts',
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  });
  const dir = join(root, 'bench-results', '.cache');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'fleet.mjs');
  writeFileSync(file, out.outputText);
  return import(`${pathToFileURL(file).href}?t=${Date.now()}`);
}
