import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StageConfig } from '../config/types.js';
import { type HostFacts, type RunEnv, runOn, runOnEach, slotTasks, stepOfKind, taskEnv, taskStep } from '../engine/index.js';
import { DeployError } from '../errors.js';
import { listNativeFiles, nativePackages, packArtifact, platformMismatches, probePlatform, unpackSource } from '../release/artifact.js';
import { inDir } from '../shell/command.js';
import type { Step } from '../shell/script.js';
import type { DeployPlan, DeployRun, GitOps } from './run.js';

/** What an artifact build leaves: the packed release, and what its native modules need. */
export interface Artifact {
  archive: NonNullable<DeployPlan['archive']>;
  /** `platform arch abi` of the `node` that built it (empty when nothing reported it). */
  platform: string;
  /** Packages holding compiled addons: the artifact runs only where `platform` matches. */
  native: string[];
}

/**
 * Vars of the artifact build: the recipe installs in the tree itself (not in a shared install
 * of a host) and with devDependencies, for the build script; its `package` task prunes them.
 */
const BUILD_VARS = { deps: 'release', npm_flags: '', pnpm_flags: '', yarn_flags: '' };

/**
 * `strategy: artifact`, in the plan phase: `git archive` of the sha into a clean directory
 * here, the build slot's tasks (install, build script) and the recipe's `package` task run
 * in it, then it is packed once. The working copy is never read.
 */
export async function buildArtifact(stage: StageConfig, revision: string, ref: string | undefined, env: RunEnv, git: GitOps): Promise<Artifact> {
  const transport = env.localTransport;
  if (!transport) throw new DeployError('strategy artifact builds on this machine, and this run has no local transport');
  const tag = `ship-${stage.app}-${revision.slice(0, 12)}`;
  const source = await git.tempFile(`${tag}-source.tar`);
  const dir = (await git.tempFile(`${tag}-build`)).path;
  const archive = await git.tempFile(`${tag}-artifact.tar`);
  try {
    await git.archiveToFile(stage.repo, revision, stage.repoTree, source.path).catch((e: Error) => {
      throw new DeployError(e.message);
    });
    env.emit({ event: 'phase', phase: 'build (artifact)' });
    const facts = buildFacts(stage, dir, revision, ref);
    const r = await runOn(env, {
      host: 'local',
      transport,
      steps: buildSteps(stage, { ...stage.vars, ...BUILD_VARS, ...facts }, source.path, dir, archive.path),
      env: { ...stage.env, ...Object.fromEntries(Object.entries(facts).map(([k, v]) => [`SHIP_${k.toUpperCase()}`, v])) },
      ...(env.signal ? { signal: env.signal } : {}),
    });
    if (!r.ok)
      throw new DeployError('the artifact build failed on this machine; no host was contacted beyond connecting', [r.error?.message ?? `exit ${r.exitCode}`]);
    const files = (stepOfKind(r, 'native')?.stdout ?? '').split('\n').filter(Boolean);
    return { archive, platform: stepOfKind(r, 'platform')?.stdout.trim() ?? '', native: nativePackages(files) };
  } catch (e) {
    await archive.remove();
    throw e;
  } finally {
    await source.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The facts of an artifact build: the release's own are not known yet (the id comes with the lock). */
function buildFacts(stage: StageConfig, dir: string, revision: string, ref: string | undefined): HostFacts {
  return {
    app: stage.app,
    stage: stage.stage,
    host: 'local',
    address: 'localhost',
    release: '',
    release_path: dir,
    current_path: '',
    shared_path: '',
    backup_path: '',
    deploy_to: dirname(dir),
    revision,
    branch: ref ?? '',
    previous_release: '',
  };
}

function buildSteps(stage: StageConfig, values: Record<string, string>, source: string, dir: string, archive: string): Step[] {
  const tasks = [...slotTasks(stage, 'build').filter((t) => !t.local), ...(stage.tasks.package ? [stage.tasks.package] : [])];
  return [
    { label: 'source', command: unpackSource(source, dir) },
    ...tasks.map((t) => taskStep(t, values, dir)),
    { label: 'native modules', kind: 'native', command: inDir(dir, listNativeFiles()) },
    { label: 'platform', kind: 'platform', command: probePlatform() },
    { label: 'pack', command: packArtifact(dir, archive) },
  ];
}

/**
 * Before any code is sent: with native modules in the artifact, every host's `node` (with the
 * tasks' environment, so their PATH) must report the builder's platform, CPU and ABI. Returns
 * one line per host that differs.
 */
export async function platformRefusals(run: DeployRun): Promise<string[]> {
  const artifact = run.plan.artifact;
  if (!artifact?.native.length) return [];
  const outcomes = await runOnEach(
    run.members,
    run.env,
    () => [{ label: 'platform', kind: 'platform', command: probePlatform() }],
    (m) => taskEnv(run.stage, m.host, run.factsOf(m)),
  );
  const hosts = run.members.map((m, i) => ({ host: m.host.name, platform: stepOfKind(outcomes[i], 'platform')?.stdout.trim() ?? '' }));
  return platformMismatches(artifact.platform, hosts).map((l) => `${l} (native modules: ${artifact.native.join(', ')})`);
}
