import type { HostConfig } from '../config/types.js';
import type { Transport } from '../transport/types.js';
import type { RunEnv } from './run-env.js';

/** The SSH connections of a run, opened ahead of use (a deploy opens them while git resolves the sha). */
export interface Connections {
  /** The host's connected transport, connecting now if not yet started; rejects when it cannot connect. */
  get(host: HostConfig): Promise<Transport>;
  /** The hosts connected so far. */
  connected(): Map<string, Transport>;
  /** Closes every connection, also those still being made. */
  close(): Promise<void>;
}

/** At most `limit` at once: take a turn, leave when done. */
function turns(limit: number): { take(): Promise<void>; leave(): void } {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    take: async () => {
      if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      active++;
    },
    leave: () => {
      active--;
      waiting.shift()?.();
    },
  };
}

/**
 * Starts connecting to every host now, at most `concurrency` handshakes at a time, each
 * reported as host:connect. Nothing runs on a host: a failure here changes nothing.
 */
export function startConnecting(hosts: HostConfig[], env: RunEnv): Connections {
  const pending = new Map<string, Promise<Transport>>();
  const done = new Map<string, Transport>();
  let closed = false;
  const slots = turns(env.concurrency);
  const report = (host: HostConfig, t0: number, error?: unknown) =>
    env.emit({
      event: 'host:connect',
      host: host.name,
      ok: error === undefined,
      ms: Math.round(performance.now() - t0),
      ...(error === undefined ? {} : { error: env.redact(String((error as Error).message ?? error)) }),
    });
  const connect = async (host: HostConfig): Promise<Transport> => {
    await slots.take();
    const t0 = performance.now();
    const transport = env.transportFor(host);
    try {
      if (closed) throw new Error('the run ended before connecting');
      await transport.connect();
    } catch (e) {
      if (!closed) report(host, t0, e);
      await transport.close().catch(() => {});
      throw e;
    } finally {
      slots.leave();
    }
    if (closed) {
      await transport.close().catch(() => {});
      throw new Error('the run ended while connecting');
    }
    done.set(host.name, transport);
    report(host, t0);
    return transport;
  };
  const get = (host: HostConfig) => {
    let p = pending.get(host.name);
    if (!p) {
      p = connect(host);
      p.catch(() => {}); // looked at by whoever awaits it; never an unhandled rejection
      pending.set(host.name, p);
    }
    return p;
  };
  for (const h of hosts) get(h);
  return {
    get,
    connected: () => done,
    close: async () => {
      closed = true;
      await Promise.all([...done.values()].map((t) => t.close().catch(() => {})));
      done.clear();
    },
  };
}
