import { oneLine } from '../release/host-text.js';

/** Plain-text table: every column but the last padded to its widest cell, two spaces apart; cells are one printable line each (hosts supply them). */
export function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map(oneLine));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
