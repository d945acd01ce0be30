import { describe, expect, it } from 'vitest';
import { HostStateTracker } from '../../src/ui/host-state.js';

describe('HostStateTracker (what a second Ctrl-C prints)', () => {
  it('follows each host through the run from the event stream', () => {
    const t = new HostStateTracker();
    t.observe({ event: 'lock', host: 'web1', ok: true });
    t.observe({ event: 'lock', host: 'web2', ok: true });
    t.observe({ event: 'phase', phase: 'publish' });
    t.observe({ event: 'publish', host: 'web1', release: '20261122030000', batch: 1 });
    t.observe({ event: 'task:start', host: 'web1', task: 'restart' });
    t.observe({ event: 'rollback', host: 'web2', to: '20261121000000', current: '20261121000000', ok: true });
    expect(t.describe()).toEqual([
      'phase: publish',
      'web1: running restart, current -> 20261122030000, locked by this run',
      'web2: idle, current -> 20261121000000, put back',
    ]);
  });

  it('a host that could not be put back shows where its current really is, not the target', () => {
    const t = new HostStateTracker();
    t.observe({ event: 'publish', host: 'web1', release: '20261122030000', batch: 1 });
    t.observe({ event: 'rollback', host: 'web1', to: '20261121000000', current: '20261122030000', ok: false, reason: 'swap failed' });
    expect(t.describe()).toEqual(['phase: starting', 'web1: idle, current -> 20261122030000, rollback failed: swap failed']);
  });
});
