/**
 * What a run is wired to outside ship's own code, for the CLI and the API alike: how each
 * host is reached (this machine through execa, the rest over SSH, loaded only when a stage has
 * SSH hosts), the deploying machine's git, and the webhook told about a run's end.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { HostConfig, StageConfig } from '../config/types.js';
import type { GitOps } from '../deploy/deploy.js';
import type { Operator } from '../engine/index.js';
import { archiveToFile, resolveRevision, unpushedTip } from '../git/git.js';
import { postWebhook, summarize } from '../notify/webhook.js';
import { LocalTransport } from '../transport/local.js';
import type { Transport } from '../transport/types.js';
import type { ShipEvent } from '../ui/events.js';
import type { Redact } from '../ui/redact.js';

/** Who is running ship (written into locks and history): the user, and the CI actor where there is one. */
export function operator(env: NodeJS.ProcessEnv = process.env): Operator {
  let user = env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep $USER
  }
  const ci = env.GITHUB_ACTOR ?? env.GITLAB_USER_LOGIN ?? env.BUILDKITE_BUILD_CREATOR ?? (env.CI ? 'ci' : undefined);
  return { user, machine: hostname(), pid: process.pid, ...(ci ? { ci } : {}) };
}

/** The deploying machine's git: resolve the ref, make the upload archive in a temp file. */
export const gitOps: GitOps = {
  resolveRevision,
  archiveToFile,
  unpushedTip,
  tempFile: async (name) => {
    const path = join(tmpdir(), `${randomBytes(6).toString('hex')}-${name}`);
    return { path, remove: () => rm(path, { force: true }) };
  },
};

/** Local hosts run through execa, the rest over SSH (loaded only when a stage has SSH hosts). */
export async function transportFactory(stage: StageConfig, say: (s: string) => void): Promise<(h: HostConfig) => Transport> {
  const needsSsh = stage.hosts.some((h) => !h.local);
  if (!needsSsh) return (h) => new LocalTransport(h.name, stage.configDir);
  const [{ createSshTransport, JumpHosts }, { buildSshTarget }, { readSshTargetEnv }] = await Promise.all([
    import('../transport/ssh/index.js'),
    import('../transport/ssh/config.js'),
    import('../transport/ssh/env.js'),
  ]);
  const machine = readSshTargetEnv();
  const jumps = new JumpHosts(); // one connection per jump host, shared by the hosts behind it
  return (h) => {
    if (h.local) return new LocalTransport(h.name, stage.configDir);
    const target = buildSshTarget(
      {
        name: h.name,
        hostname: h.name,
        ...(h.ssh.user !== undefined ? { user: h.ssh.user } : {}),
        ...(h.ssh.port !== undefined ? { port: h.ssh.port } : {}),
        ...(h.ssh.identity !== undefined ? { identity: h.ssh.identity } : {}),
        ...(h.ssh.jump !== undefined ? { jump: h.ssh.jump } : {}),
        ...(h.ssh.algorithms !== undefined ? { algorithms: h.ssh.algorithms } : {}),
        knownHosts: h.ssh.knownHosts,
        connectTimeoutMs: h.ssh.connectTimeoutMs,
        keepaliveMs: h.ssh.keepaliveMs,
      },
      machine,
    );
    return createSshTransport(target, {
      jumps,
      homedir: machine.homedir,
      notice: (m) => say(`${h.name}: ${m}`),
      onHostKeyLearned: (host, line) => say(`${host}: host key recorded (accept-new): ${line.split(' ').slice(1, 2).join('')}`),
    });
  };
}

/** Posts the end of a deploy or rollback to `notify.webhook`; a failure comes back as a message. */
export function notifyWebhook(url: string, stage: StageConfig, e: ShipEvent, user: string, redact: Redact): Promise<string | undefined> {
  if (e.event !== 'deploy:end' && e.event !== 'rollback:end') return Promise.resolve(undefined);
  const summary = summarize({
    app: stage.app,
    stage: stage.stage,
    action: e.event === 'deploy:end' ? 'deploy' : 'rollback',
    ok: e.ok,
    exitCode: e.exitCode,
    ...(e.release ? { release: e.release } : {}),
    ...(e.revision ? { revision: e.revision } : {}),
    user,
    ms: e.ms,
    current: e.current,
    ...(e.error ? { error: e.error } : {}),
  });
  return postWebhook(url, summary, redact);
}
