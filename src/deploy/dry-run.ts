import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { HealthSettings, HostConfig, StageConfig } from '../config/types.js';
import { healthChecksFor } from '../health/select.js';
import { serverPaths } from '../release/paths.js';
import type { ExecOptions, ExecResult, HttpResponse, Transport } from '../transport/types.js';
import type { ShipEvent } from '../ui/events.js';
import type { Redact } from '../ui/redact.js';
import type { Clock } from './clock.js';
import { deploy, type DeployOptions, type GitOps } from './deploy.js';
import type { Operator, RunEnv } from './fleet.js';
import { rollback, type RollbackOptions } from './rollback.js';

/**
 * `--dry-run` (DESIGN section 5), as SSHKit does it: the real deploy and rollback code runs
 * against a printing transport that connects nowhere. Every command the run would send is
 * recorded per host, in order, and every one "succeeds", so the plan never drifts from the
 * protocol. What only a host could tell (which releases it holds, where `current` points) is
 * stood in for by two placeholder releases, shown as <current release> and <previous good
 * release>; steps that depend on it (removing half-made releases, pruning) are decided on the
 * host at deploy time, and the plan says so.
 */

export interface PlannedStep {
  phase: string;
  task: string;
  command: string; // redacted, placeholders shown by name
  note?: string;
}

export interface DryRun {
  command: 'deploy' | 'rollback';
  hosts: string[];
  release?: string;
  revision?: string;
  branch?: string;
  target?: string;
  steps: Map<string, PlannedStep[]>; // per host, in the order the run sends them
  warnings: string[];
}

export interface DryRunEnv {
  clock: Clock;
  operator: Operator;
  redact: Redact;
  resolveRevision: GitOps['resolveRevision'];
}

// Valid release ids older than any real one: what the hosts "hold" in a dry run.
const PREVIOUS_ID = '19700101000001';
const CURRENT_ID = '19700101000002';
export const PLACEHOLDERS: Record<string, string> = { [CURRENT_ID]: '<current release>', [PREVIOUS_ID]: '<previous good release>' };

export async function dryRunDeploy(stage: StageConfig, opts: DeployOptions, o: DryRunEnv): Promise<DryRun> {
  const plan = newPlan('deploy');
  const upload = await emptyFile();
  const git: GitOps = {
    resolveRevision: o.resolveRevision,
    // the archive is made for real at deploy time; the plan only names it
    archiveToFile: async () => {},
    tempFile: async () => upload,
  };
  try {
    await deploy(stage, opts, simulatedEnv(stage, plan, o, [CURRENT_ID]), git);
  } finally {
    await upload.remove();
  }
  return plan;
}

export async function dryRunRollback(stage: StageConfig, opts: RollbackOptions, o: DryRunEnv): Promise<DryRun> {
  const plan = newPlan('rollback');
  const held = [PREVIOUS_ID, CURRENT_ID, ...(opts.to && !PLACEHOLDERS[opts.to] ? [opts.to] : [])];
  await rollback(stage, opts, simulatedEnv(stage, plan, o, held));
  return plan;
}

const newPlan = (command: DryRun['command']): DryRun => ({ command, hosts: [], steps: new Map(), warnings: [] });

/** Shows placeholders by name, after redaction. */
const shown = (redact: Redact) => (text: string) => {
  let out = redact(text);
  for (const [id, name] of Object.entries(PLACEHOLDERS)) out = out.split(id).join(name);
  return out;
};

function simulatedEnv(stage: StageConfig, plan: DryRun, o: DryRunEnv, held: string[]): RunEnv {
  let phase = 'connect';
  const show = shown(o.redact);
  const stepsSeen = new Map<string, number>();
  const record = (host: string, task: string, command: string, note?: string) => {
    const list = plan.steps.get(host) ?? [];
    list.push({ phase, task, command: show(command), ...(note ? { note: show(note) } : {}) });
    plan.steps.set(host, list);
  };
  const emit = (e: ShipEvent) => {
    switch (e.event) {
      case 'deploy:start':
        Object.assign(plan, { hosts: e.hosts, release: e.release, revision: e.revision, ...(e.branch ? { branch: e.branch } : {}) });
        return;
      case 'rollback:start':
        Object.assign(plan, { hosts: e.hosts, ...(e.target ? { target: show(e.target) } : {}) });
        phase = 'rollback'; // a rollback announces no phases: it is one switch, then the records
        return;
      case 'phase':
        phase = e.phase;
        return;
      case 'task:start':
        stepsSeen.set(e.host, (stepsSeen.get(e.host) ?? 0) + 1);
        return record(e.host, e.task, e.command ?? '');
      case 'log':
        if (e.level !== 'info') plan.warnings.push(show(e.message));
        return;
      default:
        return;
    }
  };
  const hostState = (h: HostConfig) => {
    const paths = serverPaths(h.deployTo);
    return [`current ${paths.release(CURRENT_ID)}`, ...held.map((id) => `release ${id} 0 0 0 -`)].join('\n');
  };
  return {
    clock: o.clock,
    emit,
    redact: o.redact,
    operator: o.operator,
    concurrency: stage.concurrency,
    transportFor: (h) => new PrintingTransport(h.name, healthChecksFor(stage, h), { record, inspected: hostState(h), reported: () => stepsSeen.get(h.name) ?? 0 }),
    // `local: true` tasks: recorded under "local", as their events name them
    localTransport: new PrintingTransport('local', [], { record, reported: () => stepsSeen.get('local') ?? 0 }),
  };
}

interface Recorder {
  record(host: string, task: string, command: string, note?: string): void;
  /** What the inspect step prints on this host (src/release/inspect.ts format); none for this machine. */
  inspected?: string;
  /** task:start events reported for the host so far: a step that adds none ran quietly. */
  reported(): number;
}

/**
 * A transport that connects nowhere: scripts are read back into their steps and answered
 * with the markers of success (src/shell/script.ts), uploads are drained, health probes
 * answer as the check expects.
 */
class PrintingTransport implements Transport {
  private httpProbes = 0;

  constructor(
    readonly host: string,
    private readonly checks: HealthSettings[],
    private readonly r: Recorder,
  ) {}

  async connect(): Promise<void> {}

  async runScript(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const nonce = /@@ship:([0-9a-f]+):start:/.exec(script)?.[1] ?? '';
    const commands = stepCommands(script, nonce);
    let stdout = '';
    const say = (text: string) => {
      stdout += text;
      opts.onData?.('stdout', Buffer.from(text));
    };
    commands.forEach((command, i) => {
      const label = opts.steps?.[i] ?? 'health'; // health commands run as scripts of their own
      const before = this.r.reported();
      say(`\n@@ship:${nonce}:start:${i}\n`);
      // quiet steps (lock, inspect, health commands) report nothing: record them here
      if (this.r.reported() === before) this.r.record(this.host, label, command);
      say(`${label === 'inspect' && this.r.inspected !== undefined ? `${this.r.inspected}\n` : ''}\n@@ship:${nonce}:end:${i}:0\n`);
    });
    return { exitCode: 0, stdout, stderr: '' };
  }

  async runWithInput(command: string, input: Readable | Buffer): Promise<ExecResult> {
    if (!Buffer.isBuffer(input)) input.destroy();
    this.r.record(this.host, 'upload', command, 'its standard input: one `git archive` of the revision, made on this machine');
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  async httpGet(url: string): Promise<HttpResponse> {
    const checks = this.checks.filter((c) => c.http);
    const expect = checks[this.httpProbes++ % Math.max(1, checks.length)]?.expect ?? { status: 200 };
    this.r.record(this.host, 'health', `GET ${url}`, `from the host; healthy when HTTP ${expect.status}${expect.body !== undefined ? ` and the body holds ${JSON.stringify(expect.body)}` : ''}`);
    return { status: expect.status, body: expect.body ?? '' };
  }

  async tcpProbe(host: string, port: number): Promise<void> {
    this.r.record(this.host, 'health', `TCP ${host}:${port}`, 'from the host; healthy when it accepts a connection');
  }

  async close(): Promise<void> {}
}

/** The steps of a script made by buildScript, by their markers: `( <command>\n)` after each start. */
export function stepCommands(script: string, nonce: string): string[] {
  const re = new RegExp(`@@ship:${nonce}:start:\\d+\\\\n'\\n\\( ([\\s\\S]*?)\\n\\)\\n__ship_rc=`, 'g');
  return [...script.matchAll(re)].map((m) => m[1]!);
}

async function emptyFile(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ship-dry-run-'));
  const path = join(dir, 'archive.tar');
  await writeFile(path, '');
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
