import type { SshTarget } from '../types.js';
import { endClient, type Client } from './connection.js';

/** One target's use of a shared jump connection: the client, and giving it back. */
export interface JumpLease {
  client: Client;
  release(): Promise<void>;
}

interface Shared {
  opening: Promise<Client>;
  users: number;
  closed: boolean;
}

/**
 * The jump-host connections of one run: one SSH connection per distinct jump host, carrying
 * the direct-tcpip channel of every target behind it. Thirty targets behind one bastion make
 * one handshake there, not thirty: OpenSSH's default `MaxStartups 10:30:100` starts refusing
 * unauthenticated connections past ten at once, and each would also be one more login in
 * the bastion's logs. The connection ends when the last target gives it back; a connection
 * that failed or dropped is forgotten, so the next target opens a fresh one.
 */
export class JumpHosts {
  private readonly shared = new Map<string, Shared>();

  /** The open connection to `jump` (opened with `open` when there is none), for one target. */
  async lease(jump: SshTarget, open: () => Promise<Client>): Promise<JumpLease> {
    const key = jumpKey(jump);
    let entry = this.shared.get(key);
    if (!entry) {
      const opening = open();
      const fresh: Shared = { opening, users: 0, closed: false };
      entry = fresh;
      this.shared.set(key, fresh);
      const gone = (): void => {
        fresh.closed = true;
        this.forget(key, fresh);
      };
      opening.then((client) => client.on('close', gone), gone);
    }
    entry.users++;
    let client: Client;
    try {
      client = await entry.opening;
    } catch (err) {
      entry.users--;
      throw err;
    }
    return { client, release: once(() => this.giveBack(key, entry)) };
  }

  private async giveBack(key: string, entry: Shared): Promise<void> {
    entry.users--;
    if (entry.users > 0) return;
    this.forget(key, entry);
    if (!entry.closed) await endClient(await entry.opening);
  }

  private forget(key: string, entry: Shared): void {
    if (this.shared.get(key) === entry) this.shared.delete(key);
  }
}

/** Two jump targets share a connection when they log in as the same user to the same address, port and keys. */
function jumpKey(t: SshTarget): string {
  return JSON.stringify([t.user, t.hostname.toLowerCase(), t.port, t.identityFiles, t.knownHosts, t.algorithms ?? null]);
}

function once(f: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= f();
    return done;
  };
}
