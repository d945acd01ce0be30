import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { describeFailures, mapSettled, type Member, runOnEach, slotTasks, stepOfKind, taskEnv } from '../engine/index.js';
import { DeployError, InterruptedError, type ShipError } from '../errors.js';
import { DELTA_INCOMPLETE, unpackDelta } from '../release/manifest.js';
import { ID_TAKEN, unpackUpload } from '../release/prepare.js';
import { render } from '../shell/render.js';
import { appFiles } from './app-files.js';
import { platformRefusals } from './artifact.js';
import { prepareSteps } from './deploy-steps.js';
import { prepareShipment, type Shipment } from './delta.js';
import { runHooks, runTasks } from './hooks.js';
import type { DeployRun } from './run.js';

/**
 * Phase 3, prepare every host in parallel: the before:deploy hooks, local build tasks, then on
 * each host the release with its code, REVISION, shared links and build. `current` is not
 * touched; any failure throws (the way back removes the new release everywhere).
 */
export async function prepare(run: DeployRun): Promise<void> {
  const { stage, env } = run;
  stopOn(
    run,
    await runHooks(
      'before:deploy',
      run.hooks((m) => m.paths.root),
    ),
  );
  // local tasks of the build slot (e.g. building assets here) run once, before the hosts build
  stopOn(
    run,
    await runTasks(
      slotTasks(stage, 'build').filter((t) => t.local),
      run.hooks((m) => m.paths.root),
      'build (local)',
    ),
  );
  env.emit({ event: 'phase', phase: 'prepare' });
  stopOn(run, await platformRefusals(run));
  if (run.plan.archive) stopOn(run, await upload(run, run.plan.archive.path));
  // what the lock scripts could not do: failed there (not refused for its id) is final
  const early = run.members.filter((m) => m.early && !m.early.ok && stepOfKind(m.early, 'fresh-id')?.exitCode !== ID_TAKEN);
  stopOn(
    run,
    early.map((m) => m.early!.error?.message ?? `${m.host.name}: delivering the code failed`),
  );
  const app = (m: Member) => appFiles(stage, m.host, m.paths, run.factsOf(m), run.plan.pm2Template);
  const prepared = await runOnEach(
    run.members,
    env,
    (m) =>
      prepareSteps(stage, run.selected, m, run.release, run.revision, run.factsOf(m), {
        fromMirror: !run.plan.archive,
        built: !!run.plan.artifact,
        delivered: run.delivered(m),
        remove: run.staleIds(m),
        app: app(m),
      }),
    (m) => ({ ...taskEnv(stage, m.host, run.factsOf(m)), ...(run.delivered(m) ? {} : app(m).env) }),
  );
  stopOn(run, describeFailures(run.members, prepared));
}

/**
 * strategies upload and artifact: the archive made here streams to every host, unpacked into
 * the release; a host whose current release has a manifest receives only what changed (delta.ts).
 */
async function upload(run: DeployRun, path: string): Promise<string[]> {
  const { env } = run;
  let shipment: Shipment;
  try {
    shipment = await prepareShipment(run, path);
  } catch (e) {
    return [`making the upload here failed: ${env.redact(String((e as Error).message ?? e))}`];
  }
  try {
    const uploads = await mapSettled(run.members, env.concurrency, async (m) => {
      const planned = shipment.forHost(m);
      let what = planned.from ? `${planned.files} changed file(s), ${planned.linked} linked from ${planned.from}` : `${planned.files} file(s)`;
      let bytes = (await stat(planned.path)).size;
      if ((await sendTo(run, m, planned.path, planned.from)) === DELTA_INCOMPLETE) {
        // the previous release lacked files the delta meant to link: the whole release instead
        const whole = await shipment.whole();
        await sendTo(run, m, whole);
        bytes += (await stat(whole)).size;
        what = `the whole release (${planned.from} lacked files to link)`;
      }
      env.emit({ event: 'log', level: 'info', host: m.host.name, message: `sent ${bytes} bytes: ${what}` });
    });
    return uploads.flatMap((u) => (u.status === 'rejected' ? [String((u.reason as Error)?.message ?? u.reason)] : []));
  } finally {
    await shipment.remove();
  }
}

/** Streams one tar to one host, unpacked as a whole release or as a delta on `from`; throws on failure, returns DELTA_INCOMPLETE. */
async function sendTo(run: DeployRun, m: Member, path: string, from?: string): Promise<number> {
  const { env } = run;
  const command = from ? unpackDelta(m.paths, run.release, from) : unpackUpload(m.paths, run.release);
  const r = await m.transport.runWithInput(render(command), createReadStream(path), env.signal ? { signal: env.signal } : {});
  if (r.exitCode === 0 || (from && r.exitCode === DELTA_INCOMPLETE)) return r.exitCode;
  throw new Error(`upload to ${m.host.name} failed (exit ${r.exitCode}): ${env.redact(r.stderr.trim().split('\n').slice(-3).join(' | '))}`);
}

/** Stops the run before publish when anything failed: one line per failure. */
export function stopOn(run: DeployRun, failures: string[]): void {
  if (failures.length) throw failedBeforePublish(run, failures);
}

/** The error of a deploy stopped before publish: interrupted, or failed on some hosts. */
export function failedBeforePublish(run: DeployRun, lines: string[]): ShipError {
  if (run.env.signal?.aborted) return new InterruptedError('interrupted before publish: nothing was changed, the new release was removed', lines);
  return new DeployError(
    `deploy failed before publish on ${lines.length} of ${run.members.length} host(s); no host was changed and the new release was removed everywhere`,
    lines,
  );
}
