/**
 * How deeply deploy.yaml nests, measured before it is parsed: the YAML composer recurses once
 * per level, so a file nested thousands deep would end in "Maximum call stack size exceeded".
 * The lexer is a loop, so counting on its tokens is safe at any depth.
 */
import { CST, Lexer } from 'yaml';
import type { ConfigProblem } from './types.js';

/** Far beyond any real deploy.yaml (a handful of levels), far below where the parser breaks. */
export const MAX_NESTING = 64;

/**
 * The offset of the first token nested more than `max` levels deep, or undefined. A level is
 * an open flow collection (`[`, `{`), or a block item: a line's first token or a `-` that sits
 * right of the enclosing one. Comments and blank lines do not count.
 */
export function tooDeepAt(text: string, max = MAX_NESTING): number | undefined {
  const block: number[] = []; // columns of the block levels that enclose the current token
  let flow = 0;
  let offset = 0;
  let lineStart = 0;
  let firstOnLine = true;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === 'doc-mode' || type === 'flow-error-end' || type === 'scalar') continue; // the lexer's markers, not text
    const at = offset;
    offset += token.length;
    if (type === 'newline') {
      lineStart = offset;
      firstOnLine = true;
      continue;
    }
    if (type === 'space' || type === 'comment') continue;
    if (type === 'flow-seq-start' || type === 'flow-map-start') flow++;
    else if (type === 'flow-seq-end' || type === 'flow-map-end') flow = Math.max(0, flow - 1);
    else if (flow === 0 && (firstOnLine || type === 'seq-item-ind' || type === 'explicit-key-ind')) {
      const col = at - lineStart;
      while (block.length > 0 && block.at(-1)! >= col) block.pop();
      block.push(col);
    }
    firstOnLine = false;
    if (block.length + flow > max) return at;
  }
  return undefined;
}

/** The problem to report for a YAML file nested too deeply (deploy.yaml, a recipe), with its line:col; else undefined. */
export function nestingProblem(text: string, file: string): ConfigProblem | undefined {
  const offset = tooDeepAt(text);
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return { file, line, col, path: '', message: `nested too deeply: more than ${MAX_NESTING} levels of maps and lists (a ship file needs a handful)` };
}
