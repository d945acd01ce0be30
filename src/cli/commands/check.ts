import { hostname } from 'node:os';
import type { HostSelection } from '../../engine/index.js';
import { DeployError } from '../../errors.js';
import type { CheckItem, CheckStatus } from '../../setup/check/judge.js';
import { runCheck, type CheckReport } from '../../setup/check/run.js';
import { table } from '../../ui/table.js';
import { recipeOfStage } from '../config.js';
import { hostSelection } from '../host-selection.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/** `ship check <stage>`: preflight, per host: can this stage be deployed, and is it ready to be live. Fails when any check does. */
export async function checkCommand(stageName: string, flags: GlobalOptions & HostSelection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const report = await runCheck({
      stage: rt.stage,
      recipe: recipeOfStage(rt.stage),
      selection: hostSelection(flags),
      env: rt.env,
      lock: { machine: hostname(), alive: pidAlive },
    });
    const items = [...report.hosts.flatMap((h) => h.items), ...report.certificates, ...report.stage];
    const count = (s: CheckStatus) => items.filter((i) => i.status === s).length;
    if (rt.json) {
      for (const i of items) rt.list({ event: 'check', ...i });
      rt.list({ event: 'check:end', ok: count('fail') === 0, pass: count('pass'), warn: count('warn'), fail: count('fail') });
    } else {
      rt.say(checklist(report));
      rt.say(`${count('pass')} passed, ${count('warn')} warning(s), ${count('fail')} failed`);
    }
    const failed = items.filter((i) => i.status === 'fail');
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

const MARK: Record<CheckStatus, string> = { pass: 'ok  ', warn: 'warn', fail: 'FAIL' };

function checklist(report: CheckReport): string {
  const block = (title: string, items: CheckItem[], label: (i: CheckItem) => string) =>
    [
      title,
      ...table(items.map((i) => [MARK[i.status], label(i), i.detail]))
        .split('\n')
        .map((l) => `  ${l}`),
    ].join('\n');
  const parts = report.hosts.map((h) => block(h.host, h.items, (i) => i.check));
  if (report.certificates.length) parts.push(block('TLS certificates, read from this machine', report.certificates, (i) => i.host));
  parts.push(block('the stage', report.stage, (i) => i.check));
  return parts.join('\n');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
