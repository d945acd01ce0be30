import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { HealthSettings, StageConfig } from '../config/types.js';
import { healthChecksFor } from '../health/select.js';
import { serverPaths } from '../release/paths.js';
import type { ExecResult, HttpResponse, Transport } from '../transport/types.js';
import type { ShipEvent } from '../ui/events.js';
import type { Redact } from '../ui/redact.js';
import { hostFacts, templateValues, type Clock, type Operator, type RunEnv, type StepOutcome, type StepRunner } from '../engine/index.js';
import { interpolateText } from '../shell/template.js';
import { render } from '../shell/render.js';
import { deploy, type DeployOptions, type GitOps } from './deploy.js';
import { rollback, type RollbackOptions } from './rollback.js';

/**
 * `--dry-run`, as SSHKit does it: the real deploy and rollback code runs with a step runner
 * that records every step it is given, as the command value it is, and a transport that
 * connects nowhere. Every command the run would send is recorded per host, in order, and
 * every one "succeeds", so the plan never drifts from the protocol. What only a host could tell (which releases it holds, where `current` points) is
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
  const record = (host: string, task: string, command: string, note?: string) => {
    const list = plan.steps.get(host) ?? [];
    list.push({ phase, task, command: show(command), ...(note ? { note: show(note) } : {}) });
    plan.steps.set(host, list);
  };
  // the release being published, for the health answers ({{release}} in expect)
  let publishing = { release: '', revision: '' };
  const emit = (e: ShipEvent) => {
    switch (e.event) {
      case 'deploy:start':
        Object.assign(plan, { hosts: e.hosts, release: e.release, revision: e.revision, ...(e.branch ? { branch: e.branch } : {}) });
        publishing = { release: e.release, revision: e.revision };
        return;
      case 'rollback:start':
        Object.assign(plan, { hosts: e.hosts, ...(e.target ? { target: show(e.target) } : {}) });
        publishing = { release: e.target ?? '', revision: '' };
        phase = 'rollback'; // a rollback announces no phases: it is one switch, then the records
        return;
      case 'phase':
        phase = e.phase;
        return;
      case 'log':
        if (e.level !== 'info') plan.warnings.push(show(e.message));
        return;
      default:
        return;
    }
  };
  const inspected = (host: string) => {
    const h = stage.hosts.find((x) => x.name === host);
    if (!h) return '';
    const paths = serverPaths(h.deployTo);
    return `${[`current ${paths.release(CURRENT_ID)}`, ...held.map((id) => `release ${id} 0 0 0 -`)].join('\n')}\n`;
  };
  return {
    clock: o.clock,
    emit,
    redact: o.redact,
    operator: o.operator,
    concurrency: stage.concurrency,
    transportFor: (h) =>
      new PrintingTransport(h.name, healthChecksFor(stage, h), record, (text) => {
        const facts = hostFacts(stage, h, serverPaths(h.deployTo), publishing.release, { revision: publishing.revision, previous: CURRENT_ID });
        return interpolateText(text, templateValues(stage, h, facts));
      }),
    // `local: true` tasks: recorded under "local", as their events name them
    localTransport: new PrintingTransport('local', [], record, (text) => text),
    stepRunner: recordingRunner(record, inspected),
  };
}

type Recorder = (host: string, task: string, command: string, note?: string) => void;

/**
 * The dry run's step runner: every step is recorded as the command it is, and "succeeds";
 * the inspection answers with the placeholder releases.
 */
function recordingRunner(record: Recorder, inspected: (host: string) => string): StepRunner {
  return async (o) => {
    const steps: StepOutcome[] = o.steps.map((step, i) => {
      record(o.host, step.label, render(step.command));
      const out: StepOutcome = {
        label: step.label,
        ...(step.kind ? { kind: step.kind } : {}),
        exitCode: 0,
        ms: 0,
        stdout: step.kind === 'inspect' ? inspected(o.host) : '',
        stderr: '',
      };
      o.onStepEnd?.(i, out);
      return out;
    });
    return { ok: true, exitCode: 0, steps };
  };
}

/**
 * A transport that connects nowhere, for what does not go through steps: uploads are drained
 * and recorded, health probes recorded and answered as the check expects.
 */
class PrintingTransport implements Transport {
  private httpProbes = 0;

  constructor(
    readonly host: string,
    private readonly checks: HealthSettings[],
    private readonly record: Recorder,
    /** Fills a check's expectation for this host, as the real check does before it judges. */
    private readonly fill: (text: string) => string,
  ) {}

  async connect(): Promise<void> {}

  async runScript(): Promise<ExecResult> {
    throw new Error('a dry run sends no script: steps go through its step runner');
  }

  async runWithInput(command: string, input: Readable | Buffer): Promise<ExecResult> {
    if (!Buffer.isBuffer(input)) input.destroy();
    this.record(this.host, 'upload', command, 'its standard input: one `git archive` of the revision, made on this machine');
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  async httpGet(url: string): Promise<HttpResponse> {
    const checks = this.checks.filter((c) => c.http);
    const expect = checks[this.httpProbes++ % Math.max(1, checks.length)]?.expect ?? { status: 200 };
    const body = expect.body !== undefined ? this.fill(expect.body) : '';
    const headers = Object.fromEntries(Object.entries(expect.header ?? {}).map(([name, value]) => [name.toLowerCase(), this.fill(value)]));
    const holds = [
      ...(expect.body !== undefined ? [` and the body holds ${JSON.stringify(body)}`] : []),
      ...Object.keys(expect.header ?? {}).map((name) => ` and header ${name} holds ${JSON.stringify(headers[name.toLowerCase()])}`),
    ];
    this.record(this.host, 'health', `GET ${url}`, `from the host; healthy when HTTP ${expect.status}${holds.join('')}`);
    return { status: expect.status, body, headers };
  }

  async tcpProbe(host: string, port: number): Promise<void> {
    this.record(this.host, 'health', `TCP ${host}:${port}`, 'from the host; healthy when it accepts a connection');
  }

  async close(): Promise<void> {}
}

async function emptyFile(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ship-dry-run-'));
  const path = join(dir, 'archive.tar');
  await writeFile(path, '');
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
