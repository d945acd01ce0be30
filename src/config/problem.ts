import type { ConfigProblem } from './types.js';

/** `deploy.yaml:12:5 stages.production.hosts.1.port: expected an integer from 1 to 65535, got "abc"` */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return p.path === '' ? `${where}: ${p.message}` : `${where} ${p.path}: ${p.message}`;
}

/** In file order, each reported once. */
export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const id = `${p.file}\u0000${p.line}\u0000${p.col}\u0000${p.path}\u0000${p.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return unique.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}
