/**
 * SQLite's side of backups, through the `sqlite3` command-line shell: `.backup` copies a live
 * database consistently (SQLite's online backup API, safe while the app writes), `.restore`
 * writes a backup back into the live file under SQLite's own locks (the app's open
 * connections see the restored data; a file copied over it would not be). Dot-commands take
 * their file name in single quotes with no escape: a path holding a quote is refused.
 */
import { UsageError } from '../errors.js';
import type { Command } from '../shell/command.js';
import { lines, sh } from '../shell/sh.js';

function dotArgument(path: string, what: string): string {
  if (/['\r\n]/.test(path)) throw new UsageError(`${what} ${JSON.stringify(path)}: sqlite3 cannot take a path holding a quote or a line break`);
  return `'${path}'`;
}

const mustExist = (db: string) => sh`if [ ! -f ${db} ]; then printf 'no SQLite database at %s (vars.sqlite_path)\\n' ${db} >&2; exit 2; fi`;

export function sqliteBackup(db: string, file: string): Command {
  return lines(mustExist(db), sh`sqlite3 ${db} ${`.backup ${dotArgument(file, 'backup file')}`}`);
}

export function sqliteRestore(db: string, file: string): Command {
  dotArgument(db, 'vars.sqlite_path');
  return lines(mustExist(db), sh`sqlite3 ${db} ${`.restore ${dotArgument(file, 'backup file')}`}`);
}

/**
 * The drill: the backup restored into a temporary file, checked (`PRAGMA integrity_check`
 * must say ok), the verification query run there, the file removed. Prints `result <value>`.
 */
export function sqliteDrill(file: string, query: string): Command {
  return lines(
    sh`__t=$(mktemp "\${TMPDIR:-/tmp}/ship-verify.XXXXXX")`,
    sh`trap 'rm -f -- "$__t"' EXIT`,
    sh`sqlite3 "$__t" ${`.restore ${dotArgument(file, 'backup file')}`}`,
    sh`__i=$(sqlite3 "$__t" 'PRAGMA integrity_check' 2>&1 | head -n 1)`,
    sh`if [ "$__i" != ok ]; then printf 'integrity check of the restored copy failed: %s\\n' "$__i" >&2; exit 1; fi`,
    sh`__r=$(sqlite3 -bail "$__t" ${query})`,
    sh`printf 'result %s\\n' "$(printf '%s\\n' "$__r" | head -n 1)"`,
  );
}
