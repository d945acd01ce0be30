import type { HostSelection } from '../../engine/index.js';
import { DeployError } from '../../errors.js';
import { setupStage } from '../../setup/setup.js';
import { readTemplate } from '../../setup/templates.js';
import { recipeOfStage } from '../config.js';
import { hostSelection } from '../host-selection.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/** `ship setup <stage>`: prepares the hosts (directories, shared files, logrotate rule, the restart method's unit or advice); only what is missing. */
export async function setupCommand(stageName: string, flags: GlobalOptions & HostSelection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const templates = { logrotate: readTemplate('logrotate.tmpl'), systemd: readTemplate('systemd.service.tmpl') };
    const results = await setupStage(rt.stage, recipeOfStage(rt.stage), templates, hostSelection(flags), rt.env);
    for (const r of results) {
      const changed = r.lines.filter((l) => l.kind === 'changed').length;
      if (rt.json) {
        for (const l of r.lines) rt.list({ event: 'setup', host: r.host, status: l.kind, detail: l.text });
        rt.list({ event: 'setup:host', host: r.host, ok: !r.error, changed, ...(r.error ? { error: r.error } : {}) });
        continue;
      }
      const shown = r.lines.filter((l) => l.kind !== 'unchanged' || flags.verbose).map((l) => `  ${l.kind.padEnd(9)} ${l.text}`);
      const kept = r.lines.length - changed - r.lines.filter((l) => l.kind === 'warn' || l.kind === 'note').length;
      const summary = r.error
        ? `  FAILED: ${r.error}`
        : changed === 0
          ? `  nothing changed: already set up (${kept} item(s) in place)`
          : `  ${changed} change(s), ${kept} item(s) already in place`;
      rt.say(`${r.host}\n${[...shown, summary].join('\n')}`);
    }
    const failed = results.filter((r) => r.error);
    if (failed.length) {
      throw new DeployError(
        `setup failed on ${failed.length} of ${results.length} host(s)`,
        failed.map((r) => `${r.host}: ${r.error}`),
        'fix what is named above, then run ship setup again: it only does what is missing',
      );
    }
  } finally {
    rt.dispose();
  }
}
