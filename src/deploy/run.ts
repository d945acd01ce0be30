import { balancerFor, type Balancer } from '../balancer/balancer.js';
import type { HostConfig, StageConfig } from '../config/types.js';
import { calm, hostFacts, stepOfKind, type Connections, type HostFacts, type Member, type RunEnv } from '../engine/index.js';
import type { HistoryEntry, HistoryResult } from '../release/history.js';
import type { HookContext } from './hooks.js';

/** What the deploying machine's git does for a deploy (src/git/git.ts in production). */
export interface GitOps {
  resolveRevision(repo: string, ref: string | undefined): Promise<string>;
  archiveToFile(repo: string, sha: string, tree: string | undefined, file: string): Promise<void>;
  tempFile(name: string): Promise<{ path: string; remove(): Promise<void> }>;
  /** The local tip of `branch` in the checkout around `dir` when `deployed` leaves it out (not pushed). */
  unpushedTip?(dir: string, branch: string, deployed: string): Promise<string | undefined>;
}

/** The plan: decided here before any host is touched (its connections are only being made). */
export interface DeployPlan {
  stage: StageConfig;
  env: RunEnv;
  selected: HostConfig[];
  /** The branch or ref asked for, if any. */
  ref: string | undefined;
  /** The one full sha every host gets. */
  revision: string;
  /** strategy upload: the `git archive` of the revision; artifact: the built release. Made once here. */
  archive: { path: string; remove(): Promise<void> } | undefined;
  /** strategy artifact: what the build's native modules need of a host (none: runs anywhere). */
  artifact?: { platform: string; native: string[] };
  connections: Connections;
  started: Date;
  /** templates/pm2.config.cjs.tmpl: the pm2 config written into each release under pm2. */
  pm2Template: string;
}

/**
 * One deploy in progress: the plan, the fleet it holds locked, the release id, and what it has
 * done so far. Every phase reads and writes this one object, so the way back after a failure
 * knows exactly what to undo.
 */
export class DeployRun {
  readonly stage: StageConfig;
  readonly env: RunEnv;
  /** The same run without its interrupt signal: clean-up and the way back must finish after Ctrl-C. */
  readonly calm: RunEnv;
  /** Each host's `current`, kept up to date as hosts are switched. */
  readonly current: Record<string, string | null>;
  /** Hosts whose `current` was switched to the new release (in publish order). */
  readonly touched: Member[] = [];
  /** The load balancer in front of the hosts, if the stage has one. */
  readonly balancer: Balancer | undefined;
  /** Migrations ran (and were not skipped as unchanged). */
  migrated = false;
  private readonly facts = new Map<string, HostFacts>();

  constructor(
    readonly plan: DeployPlan,
    readonly members: Member[],
    readonly token: string,
    readonly release: string,
    /** The id chosen from the leader's releases, under which the lock scripts delivered the code. */
    readonly tentative: string | undefined,
  ) {
    this.stage = plan.stage;
    this.env = plan.env;
    this.calm = calm(plan.env);
    this.current = Object.fromEntries(members.map((m) => [m.host.name, m.state.current ?? null]));
    this.balancer = balancerFor(this.stage, members, plan.env);
    for (const m of members) {
      this.facts.set(
        m.host.name,
        hostFacts(this.stage, m.host, m.paths, release, {
          revision: plan.revision,
          ...(plan.ref ? { branch: plan.ref } : {}),
          previous: m.state.current,
          address: m.transport.address,
        }),
      );
    }
  }

  get revision(): string {
    return this.plan.revision;
  }

  get selected(): HostConfig[] {
    return this.plan.selected;
  }

  factsOf(m: Member): HostFacts {
    return this.facts.get(m.host.name)!;
  }

  /** The lock script already delivered this release's code to the host. */
  delivered(m: Member): boolean {
    return this.release === this.tentative && m.early?.ok === true;
  }

  /** Releases this run made under an id it then gave up (a host held that id or a later one). */
  staleIds(m: Member): string[] {
    const claimed = stepOfKind(m.early, 'fresh-id')?.exitCode === 0;
    return this.tentative && this.tentative !== this.release && claimed ? [this.tentative] : [];
  }

  inRelease(m: Member): string {
    return m.paths.release(this.release);
  }

  /** The history line of this deploy on one host. */
  history(m: Member, result: HistoryResult): HistoryEntry {
    const { env, plan } = this;
    return {
      action: 'deploy',
      release: this.release,
      revision: plan.revision,
      ...(plan.ref ? { branch: plan.ref } : {}),
      ...(m.state.current ? { previous: m.state.current } : {}),
      user: env.operator.user,
      ...(env.operator.ci ? { ci: env.operator.ci } : {}),
      started: plan.started.toISOString(),
      finished: env.clock.now().toISOString(),
      result,
      ...(this.migrated ? { migrated: true } : {}),
      host: m.host.name,
    };
  }

  /** What hooks see: the fleet, each host's facts, where they run (`cwd`), and how it went. */
  hooks(cwd: (m: Member) => string, o: { calm?: boolean; result?: string } = {}): HookContext {
    return {
      stage: this.stage,
      selected: this.selected,
      members: this.members,
      env: o.calm ? this.calm : this.env,
      facts: (m) => this.factsOf(m),
      cwd,
      ...(o.result ? { result: o.result } : {}),
    };
  }

  /** Each host's `current`, for the result and for errors. */
  snapshot(): Record<string, string | null> {
    return { ...this.current };
  }
}
