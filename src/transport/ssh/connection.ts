import type ssh2 from 'ssh2';
import type { SshTarget } from '../types.js';
import { targetLabel } from './messages.js';

export type Client = InstanceType<typeof ssh2.Client>;

/** An authenticated client for the target, and giving back the jump connection it runs through, if any. */
export interface Clients {
  client: Client;
  releaseJump?: () => Promise<void>;
}

type LostListener = (reason: string) => void;

/**
 * One host's SSH connection as every command sees it: opened once (the first connect() opens
 * it, the others wait for that), shared by every channel, and watched, so a command running
 * when it drops settles at once with why.
 */
export class SshConnection {
  readonly host: string;
  readonly label: string;
  private live: Clients | undefined;
  private connecting: Promise<void> | undefined;
  private lost: string | undefined;
  private isClosed = false;
  private readonly watchers = new Set<LostListener>();

  constructor(
    target: SshTarget,
    private readonly openClients: () => Promise<Clients>,
  ) {
    this.host = target.name;
    this.label = targetLabel(target);
  }

  /** The connected client; undefined before connect() and after close(). */
  get client(): Client | undefined {
    return this.live?.client;
  }

  /** Why the connection dropped (or 'the transport was closed'); undefined while it is up. */
  get lostReason(): string | undefined {
    return this.lost;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  connect(): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error(`${this.label}: transport already closed`));
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** Calls `listener` if the connection drops while it is registered; returns the unregistering. */
  watchLost(listener: LostListener): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** No command starts from here on; end() then ends the clients. */
  markClosed(): void {
    this.isClosed = true;
    this.lost ??= 'the transport was closed';
  }

  async end(): Promise<void> {
    const live = this.live;
    this.live = undefined;
    if (live) await endClients(live);
  }

  private async open(): Promise<void> {
    const live = await this.openClients();
    if (this.isClosed) {
      await endClients(live);
      throw new Error(`${this.label}: transport closed while connecting`);
    }
    this.live = live;
    let lastError: string | undefined;
    live.client.on('error', (err: Error) => {
      lastError = err.message;
    });
    live.client.on('close', () => {
      this.lost ??= lastError ?? 'the server closed the connection';
      for (const listener of [...this.watchers]) listener(this.lost);
    });
  }
}

/** Ends the target's client, then gives back its jump connection. */
async function endClients(live: Clients): Promise<void> {
  await endClient(live.client);
  await live.releaseJump?.();
}

/** Ends a client politely, and for good after a second if the server does not answer. */
export function endClient(client: Client): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, 1000);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    client.on('error', () => undefined);
    try {
      client.end();
    } catch {
      clearTimeout(timer);
      client.destroy();
      resolve();
    }
  });
}
