/** Characters that never need quoting in a POSIX sh word. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one value as a single POSIX sh word. Single quotes keep everything literal
 * (`$`, backticks, `\`, `"`, newlines); a single quote itself is written as '\''.
 * The renderer and sh`...` are its callers: code elsewhere states values, not quoting.
 */
export function quote(value: string): string {
  if (value !== '' && SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A name sh takes as a variable: the only words that stand unquoted where a variable goes. */
export const isShellName = (name: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
