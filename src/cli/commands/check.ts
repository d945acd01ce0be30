import { hostname } from 'node:os';
import type { HostSelection } from '../../engine/index.js';
import { DeployError, UsageError } from '../../errors.js';
import { alertStateFile, decideAlert, readAlertState, writeAlertState } from '../../notify/check-alerts.js';
import { postWebhook } from '../../notify/webhook.js';
import { CHECK_GROUPS, type CheckGroup, GROUP_TITLES } from '../../setup/check/groups.js';
import type { CheckItem, CheckStatus } from '../../setup/check/judge.js';
import { runCheck } from '../../setup/check/run.js';
import { table } from '../../ui/table.js';
import { recipeOfStage } from '../config.js';
import { hostSelection } from '../host-selection.js';
import { prepareRuntime, type GlobalOptions, type Runtime } from '../runtime.js';

/**
 * `ship check <stage> [--notify]`: the go-live review, per host, under the checklist's headings.
 * Fails when any check does. With --notify, the webhook hears when checks start failing and
 * when they recover.
 */
export async function checkCommand(stageName: string, flags: GlobalOptions & HostSelection & { notify?: boolean }): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const webhook = rt.stage.notify?.webhook;
    if (flags.notify && !webhook)
      throw new UsageError('--notify: this stage has no notify.webhook to post to', [], 'add notify: { webhook: ${CHECK_WEBHOOK_URL} } to deploy.yaml');
    const report = await runCheck({
      stage: rt.stage,
      recipe: recipeOfStage(rt.stage),
      selection: hostSelection(flags),
      env: rt.env,
      lock: { machine: hostname(), alive: pidAlive },
    });
    const items = [...report.hosts.flatMap((h) => h.items), ...report.certificates, ...report.stage];
    const count = (s: CheckStatus, of = items) => of.filter((i) => i.status === s).length;
    if (rt.json) {
      for (const i of grouped(items)) rt.list({ event: 'check', ...i });
      const groups = Object.fromEntries(
        CHECK_GROUPS.map((g) => [g, items.filter((i) => i.group === g)] as const)
          .filter(([, of]) => of.length)
          .map(([g, of]) => [g, { pass: count('pass', of), warn: count('warn', of), fail: count('fail', of) }]),
      );
      rt.list({ event: 'check:end', ok: count('fail') === 0, pass: count('pass'), warn: count('warn'), fail: count('fail'), groups });
    } else {
      rt.say(checklist(items));
      rt.say(`${count('pass')} passed, ${count('warn')} warning(s), ${count('fail')} failed`);
    }
    const failed = items.filter((i) => i.status === 'fail');
    if (flags.notify && webhook) await notifyChange(rt, webhook, failed, alertStateFile(rt.stage.configDir, rt.stage.stage, hostSelection(flags)));
    if (failed.length) {
      throw new DeployError(
        `stage ${rt.stage.stage} is not ready: ${failed.length} check(s) failed`,
        failed.map((i) => `${i.host}: ${i.check}: ${i.detail}`),
      );
    }
  } finally {
    rt.dispose();
  }
}

/** Posts when the failing set changed as decideAlert says; keeps the state only once told. */
async function notifyChange(rt: Runtime, webhook: string, failed: CheckItem[], file: string): Promise<void> {
  const { alert, next } = decideAlert(await readAlertState(file), failed, { app: rt.stage.app, stage: rt.stage.stage, now: rt.env.clock.now() });
  if (alert) {
    const problem = await postWebhook(webhook, alert, rt.redact);
    if (problem) {
      rt.say(`warning: ${problem}; the alert is tried again at the next run`);
      return;
    }
    if (rt.json) rt.list({ event: 'notify', status: alert.status, newly: alert.newly });
    else rt.say(`notified: ${alert.status === 'recovered' ? 'recovered' : `${alert.newly.length} newly failing check(s)`}`);
  }
  await writeAlertState(file, next);
}

/** Items in heading order; within a heading, in the order they were found (host by host). */
function grouped(items: CheckItem[]): CheckItem[] {
  return CHECK_GROUPS.flatMap((g) => items.filter((i) => i.group === g));
}

const MARK: Record<CheckStatus, string> = { pass: 'ok  ', warn: 'warn', fail: 'FAIL' };

function checklist(items: CheckItem[]): string {
  const block = (g: CheckGroup, of: CheckItem[]) =>
    [
      GROUP_TITLES[g],
      ...table(of.map((i) => [MARK[i.status], i.host, i.check, i.detail]))
        .split('\n')
        .map((l) => `  ${l}`),
    ].join('\n');
  return CHECK_GROUPS.map((g) => [g, items.filter((i) => i.group === g)] as const)
    .filter(([, of]) => of.length)
    .map(([g, of]) => block(g, of))
    .join('\n');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
