import type { ShipEvent } from './events.js';

/**
 * What each host is doing, followed from the event stream, so a second Ctrl-C can say where
 * every host stands instead of leaving the operator guessing.
 */
export class HostStateTracker {
  private phase = 'starting';
  private readonly hosts = new Map<string, { doing?: string; current?: string; note?: string }>();

  observe(e: ShipEvent): void {
    const at = (h: string) => {
      let s = this.hosts.get(h);
      if (!s) {
        s = {};
        this.hosts.set(h, s);
      }
      return s;
    };
    switch (e.event) {
      case 'phase':
        this.phase = e.phase;
        return;
      case 'lock':
        at(e.host).note = e.ok ? 'locked by this run' : `locked by someone else`;
        return;
      case 'task:start':
        at(e.host).doing = e.task;
        return;
      case 'task:end':
        at(e.host).doing = undefined;
        return;
      case 'publish':
        at(e.host).current = e.release;
        return;
      case 'rollback':
        at(e.host).current = e.current ?? '(none)';
        at(e.host).note = e.ok ? 'put back' : `rollback failed: ${e.reason ?? ''}`;
        return;
      default:
        return;
    }
  }

  describe(): string[] {
    const lines = [`phase: ${this.phase}`];
    for (const [host, s] of this.hosts) {
      const parts = [s.doing ? `running ${s.doing}` : 'idle', s.current ? `current -> ${s.current}` : 'current unchanged', s.note].filter(Boolean);
      lines.push(`${host}: ${parts.join(', ')}`);
    }
    return lines;
  }
}
