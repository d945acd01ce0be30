import {
  color as paletteOf,
  figures,
  Listr,
  ListrDefaultRendererLogLevels,
  ListrLogger,
  ProcessOutput,
  type DefaultRenderer,
  type ListrTaskWrapper,
  type SimpleRenderer,
} from 'listr2';
import { paint, printableValues } from './format.js';
import { createProgress, phaseTitle, rowTitle, type Phase, type ProgressView, type Row } from './progress.js';
import type { Reporter, ReporterOptions } from './reporter.js';

/**
 * The tree a terminal shows during a deploy or rollback, the only module that imports listr2. The protocol's
 * phases come one after another, so each phase is its own listr2 list, rendered while it runs
 * and left on screen when it ends: the phase line with its time, under it one line per host
 * (current step and timing, or the failure in place: task, command, exit code, stderr tail).
 * With many hosts, the model folds those that finished well into the phase line.
 *
 * listr2 pulls work from tasks while ship pushes events, so every row is a listr2 task that
 * waits for the model (src/ui/progress.ts) to settle it. Rows a phase does not use have a
 * blank title, which listr2 does not draw.
 */

export interface TreeOptions extends ReporterOptions {
  /** Every host of the stage, in order: a phase has rows for all of them, shown once used. */
  hosts: string[];
}

type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

interface RowBinding {
  refresh(): void;
  settle(): void;
}

const HIDDEN = ' '; // listr2 skips a blank title; an empty one would send the row's output to the bottom bar
const TICK_MS = 1000;

export function treeReporter(o: TreeOptions): Reporter {
  const clock = o.now ?? (() => new Date());
  const now = () => clock().getTime();
  const tree = new TreeView(o, now);
  const progress = createProgress({ hosts: o.hosts, now, view: tree });
  tree.width = () => progress.width();
  // running steps show their time: refresh it while a phase is on screen
  const tick = setInterval(() => tree.refreshRunning(progress.current()), TICK_MS);
  tick.unref();
  return {
    emit: (e) => progress.apply(printableValues(e)),
    close: async () => {
      progress.end();
      clearInterval(tick);
      await tree.drawn();
    },
  };
}

/** A phase on screen: its listr2 task once drawn, the notes under it, and how to end it. */
interface PhaseBinding {
  wrapper?: Wrapper;
  notes: string[];
  ended: () => void;
}

/** What the progress model's changes become on a terminal, through listr2. */
class TreeView implements ProgressView {
  /** Width of the host column, from the model. */
  width: () => number = () => 0;
  private readonly color: boolean;
  private readonly processOutput: ProcessOutput;
  private readonly rows = new Map<Row, RowBinding>();
  private readonly phases = new Map<Phase, PhaseBinding>();
  /** One listr2 list on screen at a time: each waits for the one before to finish drawing. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly o: TreeOptions,
    private readonly now: () => number,
  ) {
    this.color = o.color ?? false;
    this.processOutput = new ProcessOutput(o.out as NodeJS.WriteStream);
  }

  phaseStarted(p: Phase): void {
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    this.phases.set(p, { notes: [], ended });
    this.later(() => this.runPhase(p, done));
  }

  rowChanged(p: Phase, r: Row): void {
    this.rows.get(r)?.refresh();
    // a failed row stays open until its phase ends: the last stderr lines may still come
    if (r.status === 'ok') this.rows.get(r)?.settle();
    this.titlePhase(p);
  }

  phaseEnded(p: Phase): void {
    for (const r of p.rows) this.rows.get(r)?.settle();
    this.titlePhase(p);
    this.phases.get(p)?.ended();
  }

  noted(p: Phase | undefined, text: string): void {
    const view = p && this.phases.get(p);
    if (!view) return this.later(() => this.o.out.write(`${this.o.redact(text)}\n`));
    view.notes.push(text);
    if (view.wrapper) view.wrapper.output = this.o.redact(text);
  }

  finished(lines: string[], ok: boolean): void {
    this.later(() => {
      const [head, ...rest] = lines;
      this.o.out.write(`\n${paint(this.color, ok ? '32' : '31', `${ok ? '✔' : '✖'} ${this.o.redact(head ?? '')}`)}\n`);
      for (const l of rest) this.o.out.write(`${this.o.redact(l)}\n`);
    });
  }

  refreshRunning(p: Phase | undefined): void {
    if (p) for (const r of p.rows) if (r.status === 'running') this.rows.get(r)?.refresh();
  }

  /** Settles once everything queued so far is drawn. */
  drawn(): Promise<unknown> {
    return this.queue;
  }

  private later(fn: () => unknown): void {
    this.queue = this.queue.then(fn).catch((e: unknown) => {
      this.o.out.write(`${this.o.redact(`(progress display failed: ${(e as Error)?.message ?? e})`)}\n`);
    });
  }

  private titlePhase(p: Phase): void {
    const w = this.phases.get(p)?.wrapper;
    if (w) w.title = this.o.redact(phaseTitle(p));
  }

  private rowTitle(p: Phase, r: Row): string {
    return this.o.redact(rowTitle(p, r, this.width(), this.now()));
  }

  private bindRow(p: Phase, r: Row, w: Wrapper): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const binding: RowBinding = {
        refresh: () => {
          if (settled) return;
          w.title = this.rowTitle(p, r) || HIDDEN;
          if (r.status === 'running' && r.lastLine) w.output = this.o.redact(r.lastLine);
        },
        settle: () => {
          if (settled) return;
          binding.refresh();
          settled = true;
          // the failure text becomes the row: listr2 shows a failed task's error in its place
          if (r.status === 'failed') reject(new Error(this.rowTitle(p, r)));
          else resolve();
        },
      };
      this.rows.set(r, binding);
      binding.refresh();
      if (p.ended || r.status === 'ok') binding.settle();
    });
  }

  private async runPhase(p: Phase, done: Promise<void>): Promise<void> {
    const view = this.phases.get(p)!;
    const list = new Listr(
      [
        {
          title: this.o.redact(phaseTitle(p)),
          task: (_ctx, w: Wrapper) => {
            view.wrapper = w;
            for (const n of view.notes) w.output = this.o.redact(n);
            this.titlePhase(p);
            return w.newListr(
              [
                ...p.rows.map((r) => ({ title: HIDDEN, task: (_c: unknown, rw: Wrapper) => this.bindRow(p, r, rw) })),
                // keeps the phase open until the model ends it, even when no host row is used
                { title: HIDDEN, task: () => done },
              ],
              { concurrent: true, exitOnError: false },
            );
          },
          // notes (warnings, pruned releases) stay under the phase line after it ends
          rendererOptions: { persistentOutput: true, outputBar: Infinity },
        },
      ],
      {
        renderer: 'default',
        exitOnError: false,
        // Ctrl-C belongs to ship (src/cli/runtime.ts): it winds the deploy down, listr2 must not exit
        registerSignalListeners: false,
        rendererOptions: {
          collapseSubtasks: false, // hosts stay listed under a finished phase (many hosts fold in the model)
          collapseErrors: true,
          showErrorMessage: true,
          formatOutput: 'wrap',
          removeEmptyLines: true,
          // a phase where a host failed is a failure, not listr2's yellow warning
          icon: { [ListrDefaultRendererLogLevels.COMPLETED_WITH_FAILED_SUBTASKS]: figures.cross },
          color: { [ListrDefaultRendererLogLevels.COMPLETED_WITH_FAILED_SUBTASKS]: (text?: string) => paletteOf.red(text ?? '') },
          logger: new ListrLogger({ processOutput: this.processOutput }),
        },
      },
    );
    await list.run();
    for (const r of p.rows) this.rows.delete(r);
    this.phases.delete(p);
  }
}
