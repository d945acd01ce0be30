/** How ship writes for people, in every reporter: one way to colour text, one way to say a duration. */

/** `text` in an ANSI colour or style (`'31'` red, `'32'` green, `'33'` yellow, `'36'` cyan, `'1'` bold, `'2'` dim); as it is when `on` is false. */
export const paint = (on: boolean, code: string, text: string): string => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

/** A duration as people read it: `840ms`, `12.3s`, `2m05s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
