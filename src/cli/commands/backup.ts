import { listBackups, restoreBackup, takeBackup, verifyBackup } from '../../backup/run.js';
import { checkBackupChoice } from '../../backup/database.js';
import { DeployError, UsageError } from '../../errors.js';
import { humanBytes } from '../../setup/check/judge.js';
import { table } from '../../ui/table.js';
import { confirmRun } from '../confirm.js';
import { prepareRuntime, type GlobalOptions, type Runtime } from '../runtime.js';

const ACTIONS = ['verify', 'list'] as const;
type Action = (typeof ACTIONS)[number];

/**
 * `ship backup <stage>`, `ship backup list <stage>`, `ship backup verify <stage>`. With one
 * argument it is the stage; with two the first is the action.
 */
export async function backupCommand(first: string, second: string | undefined, flags: GlobalOptions): Promise<void> {
  if (second !== undefined && !(ACTIONS as readonly string[]).includes(first)) {
    throw new UsageError(
      `ship backup ${first} ${second}: unknown action ${first}`,
      [],
      'ship backup <stage> | ship backup list <stage> | ship backup verify <stage>',
    );
  }
  const action = second === undefined ? 'take' : (first as Action);
  const rt = await prepareRuntime(second ?? first, flags);
  try {
    if (action === 'take') return showTaken(rt, await takeBackup(rt.stage, rt.env));
    if (action === 'list') return showList(rt, await listBackups(rt.stage, rt.env));
    const drill = await verifyBackup(rt.stage, rt.env);
    if (rt.json) rt.list({ event: 'backup:verify', ...drill });
    else rt.say(`${drill.host}: restore drill of ${drill.backup}: ${drill.ok ? 'ok' : 'FAILED'}: ${drill.detail}`);
    if (!drill.ok)
      throw new DeployError(
        `the restore drill failed on ${drill.host}: ${drill.backup} cannot be trusted`,
        [drill.detail],
        'take a new backup (ship backup) and verify it again',
      );
  } finally {
    rt.dispose();
  }
}

function showTaken(rt: Runtime, b: Awaited<ReturnType<typeof takeBackup>>): void {
  if (rt.json) rt.list({ event: 'backup', ...b });
  else rt.say(`${b.host}: backup ${b.name} (${humanBytes(b.bytes)})`);
}

function showList(rt: Runtime, l: Awaited<ReturnType<typeof listBackups>>): void {
  if (rt.json) {
    for (const b of l.backups) rt.list({ event: 'backup', host: l.host, ...b, mtime: new Date(b.mtime * 1000).toISOString() });
    return;
  }
  rt.say(`${l.host}: ${l.dir}`);
  if (!l.backups.length) return rt.say('  (no backups)');
  rt.say(
    table(l.backups.map((b) => [b.name, humanBytes(b.bytes), new Date(b.mtime * 1000).toISOString()]))
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
  );
}

/** `ship restore <stage> --from NAME|latest [--yes]`: always confirmed; a fresh backup is taken first. */
export async function restoreCommand(stageName: string, flags: GlobalOptions & { from?: string; yes?: boolean }): Promise<void> {
  if (!flags.from)
    throw new UsageError('ship restore: --from is required', [], `ship restore ${stageName} --from latest (or a name from ship backup list ${stageName})`);
  const from = checkBackupChoice(flags.from);
  const rt = await prepareRuntime(stageName, flags);
  try {
    const what = `restore the ${rt.stage.stage} database of ${rt.stage.app} from ${from === 'latest' ? 'the latest backup' : from}, replacing its data`;
    await confirmRun(rt.stage, what, { ...flags, always: true });
    const r = await restoreBackup(rt.stage, rt.env, from);
    if (rt.json) rt.list({ event: 'restore', host: r.host, restored: r.restored, saved: r.saved.name });
    else rt.say(`${r.host}: restored ${r.restored}; the data it replaced is in ${r.saved.name}`);
  } finally {
    rt.dispose();
  }
}
