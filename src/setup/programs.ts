/** Finding programs on a host, for `ship setup` (logrotate, crontab...) and `ship check`. */
import { script, type Command } from '../shell/command.js';
import { quote } from '../shell/render.js';

/**
 * One line per name, `program <name> <path>` (empty path: not found). PATH first, then the
 * sbin directories, which a non-login SSH session's PATH often lacks (Debian's logrotate is
 * /usr/sbin/logrotate).
 */
export function findPrograms(names: readonly string[]): Command {
  return script(
    names
      .map((name) => {
        const q = quote(name);
        const sbin = `for __d in /usr/local/sbin /usr/sbin /sbin; do if [ -x "$__d"/${q} ]; then echo "$__d"/${q}; break; fi; done`;
        return `printf 'program %s %s\\n' ${q} "$(command -v ${q} 2>/dev/null || { ${sbin}; })"`;
      })
      .join('\n'),
  );
}

export function parsePrograms(stdout: string): Record<string, string | undefined> {
  const found: Record<string, string | undefined> = {};
  for (const line of stdout.split('\n')) {
    const m = /^program (\S+) ?(.*)$/.exec(line);
    if (m) found[m[1]!] = m[2]!.trim() || undefined;
  }
  return found;
}
