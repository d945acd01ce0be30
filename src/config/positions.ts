/** Where each key and value of deploy.yaml was written, so later checks can point at it. */

export type Path = readonly (string | number)[];

export interface Pos {
  line: number; // 1-based; 0 = no position
  col: number;
}

export interface NodePosition {
  key?: Pos; // where the key was written (absent for list entries and the root)
  value: Pos;
}

export type PositionIndex = ReadonlyMap<string, NodePosition>;

export const NO_POS: Pos = { line: 0, col: 0 };

export function pathKey(path: Path): string {
  return path.join('\u0000');
}

export function displayPath(path: Path): string {
  return path.join('.');
}

/**
 * The position of a path's key or value; when the path itself was not written (a default,
 * a missing key), the position of its nearest written ancestor.
 */
export function positionOf(index: PositionIndex, path: Path, part: 'key' | 'value' = 'value'): Pos {
  for (let end = path.length; end >= 0; end--) {
    const found = index.get(pathKey(path.slice(0, end)));
    if (found) return (part === 'key' && end === path.length ? found.key : undefined) ?? found.value;
  }
  return NO_POS;
}
