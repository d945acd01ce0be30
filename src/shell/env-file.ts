import { isShellName } from './quote.js';

/**
 * The app env file: one `NAME='value'` a line, every value in POSIX single quotes (a quote
 * itself is written '\''). One format read by three loaders: sh (`set -a; . FILE`), systemd's
 * EnvironmentFile= (which parses the same quoting, newlines inside quotes included) and the
 * pm2 config ship writes (parseEnvFile's rule, in JavaScript). Always quoted, even where sh
 * would not need it, so that every loader sees one shape.
 */
export function renderEnvFile(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!isShellName(name)) throw new Error(`invalid environment variable name: ${JSON.stringify(name)}`);
      return `${name}='${value.replace(/'/g, `'\\''`)}'\n`;
    })
    .join('');
}

/** One entry: a name, then quoted runs and '\'' escapes up to the end of a line. */
export const ENV_FILE_ENTRY = /^([A-Za-z_][A-Za-z0-9_]*)=((?:'[^']*'|\\')*)$/gm;

/** Reads what renderEnvFile wrote (the rule the generated pm2 config applies on the host). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(ENV_FILE_ENTRY)) env[m[1]!] = m[2]!.replace(/'([^']*)'|\\'/g, (_, quoted: string | undefined) => quoted ?? "'");
  return env;
}
