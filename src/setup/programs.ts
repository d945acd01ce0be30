/** Finding programs on a host, for `ship setup` (logrotate, crontab...) and `ship check`. */
import type { Command } from '../shell/command.js';
import { lines, sh } from '../shell/sh.js';

/**
 * One line per name, `program <name> <path>` (empty path: not found). PATH first, then the
 * sbin directories, which a non-login SSH session's PATH often lacks (Debian's logrotate is
 * /usr/sbin/logrotate).
 */
export function findPrograms(names: readonly string[]): Command {
  return lines(
    ...names.map((name) => {
      const sbin = sh`for __d in /usr/local/sbin /usr/sbin /sbin; do if [ -x "$__d"/${name} ]; then echo "$__d"/${name}; break; fi; done`;
      return sh`printf 'program %s %s\\n' ${name} "$(command -v ${name} 2>/dev/null || { ${sbin}; })"`;
    }),
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
