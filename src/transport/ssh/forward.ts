import type { Duplex } from 'node:stream';
import { abortError } from '../signals.js';
import type { ExecOptions, ExecResult, HttpResponse } from '../types.js';
import type { Client, SshConnection } from './connection.js';
import { HOST_TOOLS_SCRIPT, NO_HTTP_CLIENT, httpGetScript, parseHostTools, parseHttpGetOutput, tcpProbeScript, type HostTools } from './fallback.js';
import { bareHostname, defaultPort, httpGetOverStream } from './http-over-stream.js';
import { formatDuration } from '../../config/units.js';
import { errorMessage, tail } from './messages.js';

/**
 * Port forwarding: the direct-tcpip channel that reaches a TCP port from a server's side. A
 * jump host reaches its target through it, and HTTP checks and TCP probes run through it from
 * the host itself. When a server refuses forwarding, the checks run a small script on the host
 * instead (curl/wget, nc/bash: fallback.ts).
 */

/**
 * Opens a direct-tcpip channel from the server to host:port. Rejects with `signal`'s reason
 * when it fires first (a channel that arrives later is destroyed). ssh2 throws when the
 * socket is already gone: `gone` says what that means to the caller.
 */
export function forwardOut(
  client: Client,
  host: string,
  port: number,
  signal: AbortSignal,
  gone: (err: unknown) => Error = (err) => err as Error,
): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) {
          stream?.destroy(); // arrived after the deadline
          return;
        }
        settled = true;
        if (err) reject(err);
        else resolve(stream);
      });
    } catch (err) {
      signal.removeEventListener('abort', onAbort);
      settled = true;
      reject(gone(err));
    }
  });
}

/** A signal that fires with `reason()` after `ms`; clear() stops the timer when the work ends first. */
export function deadline(ms: number, reason: () => Error): { signal: AbortSignal; abort(why: Error): void; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason()), ms);
  return { signal: controller.signal, abort: (why) => controller.abort(why), clear: () => clearTimeout(timer) };
}

/** `administratively prohibited` (SSH_OPEN_ADMINISTRATIVELY_PROHIBITED = 1). */
export function isForwardingProhibited(err: unknown): boolean {
  const e = err as { reason?: unknown; message?: unknown };
  return e?.reason === 1 || /administratively prohibited/i.test(String(e?.message ?? ''));
}

export function forwardFailure(err: unknown): string {
  return errorMessage(err).replace(/^\(SSH\) Channel open failure: /, '');
}

/** Runs a script on the host (the transport's runScript), for the fallbacks. */
type RunScript = (script: string, opts: ExecOptions) => Promise<ExecResult>;

/** HTTP GETs and TCP probes made from one host, through its connection. */
export class ForwardProbes {
  private fallbackNoticed = false;
  private tools: Promise<HostTools> | undefined;

  constructor(
    private readonly conn: SshConnection,
    private readonly runScript: RunScript,
    private readonly notice?: (message: string) => void,
  ) {}

  async httpGet(url: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<HttpResponse> {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (!parsed) throw new Error(`GET ${url} from ${this.conn.host}: not a valid URL`);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`GET ${url} from ${this.conn.host}: only http and https URLs are supported`);
    }
    const what = `GET ${url} from ${this.conn.host}`;
    return withDeadline(what, opts.timeoutMs, opts.signal, async (signal) => {
      let stream: Duplex;
      try {
        stream = await this.forward(bareHostname(parsed), defaultPort(parsed), signal);
      } catch (err) {
        if (!isForwardingProhibited(err)) throw new Error(`${what}: ${forwardFailure(err)}`, { cause: err });
        this.noticeFallback();
        return this.httpGetViaCommand(url, opts.timeoutMs, signal, what);
      }
      try {
        return await httpGetOverStream(stream, parsed, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new Error(`${what}: ${errorMessage(err)}`, { cause: err });
      }
    });
  }

  async tcpProbe(host: string, port: number, opts: { timeoutMs: number }): Promise<void> {
    const what = `TCP ${host}:${port} from ${this.conn.host}`;
    await withDeadline(what, opts.timeoutMs, undefined, async (signal) => {
      try {
        const stream = await this.forward(host, port, signal);
        stream.destroy();
      } catch (err) {
        if (!isForwardingProhibited(err)) throw new Error(`${what}: ${forwardFailure(err)}`, { cause: err });
        this.noticeFallback();
        const res = await this.runScript(tcpProbeScript(host, port, opts.timeoutMs, await this.hostTools(signal)), { signal });
        if (res.exitCode !== 0) {
          throw new Error(`${what}: no connection (exit ${res.exitCode}) ${tail(res.stderr)}`.trimEnd());
        }
      }
    });
  }

  private forward(host: string, port: number, signal: AbortSignal): Promise<Duplex> {
    const { client, label } = this.conn;
    if (!client) {
      return Promise.reject(new Error(this.conn.lostReason ? `connection to ${label} lost` : `${label}: not connected`));
    }
    return forwardOut(client, host, port, signal, (err) => new Error(`connection to ${label} lost: ${errorMessage(err)}`));
  }

  private async httpGetViaCommand(url: string, timeoutMs: number, signal: AbortSignal, what: string): Promise<HttpResponse> {
    const tools = await this.hostTools(signal);
    if (!tools.http) {
      throw new Error(
        `${what}: ${this.conn.label} allows no TCP forwarding (AllowTcpForwarding) and has ${NO_HTTP_CLIENT}: install one (BusyBox wget will do) or allow forwarding`,
      );
    }
    const res = await this.runScript(httpGetScript(url, timeoutMs, tools), { signal });
    const parsed = res.exitCode === 0 ? parseHttpGetOutput(res.stdout) : undefined;
    if (!parsed) throw new Error(`${what} (run on the host): exit ${res.exitCode} ${tail(res.stderr)}`.trimEnd());
    return parsed;
  }

  /** What the host has for the fallbacks, asked once per run (again if the asking failed). */
  private hostTools(signal: AbortSignal): Promise<HostTools> {
    this.tools ??= this.runScript(HOST_TOOLS_SCRIPT, { signal }).then((res) => parseHostTools(res.stdout));
    this.tools.catch(() => {
      this.tools = undefined;
    });
    return this.tools;
  }

  private noticeFallback(): void {
    if (this.fallbackNoticed) return;
    this.fallbackNoticed = true;
    this.notice?.(`${this.conn.label} does not allow TCP forwarding (AllowTcpForwarding); HTTP and TCP checks run curl/wget/nc on the host instead`);
  }
}

/** Runs `fn` with a signal that fires on the caller's signal or after `timeoutMs`. */
async function withDeadline<T>(what: string, timeoutMs: number, outer: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const limit = deadline(timeoutMs, () => new Error(`${what}: no answer within ${formatDuration(timeoutMs)}`));
  const { signal } = limit;
  const onOuterAbort = (): void => limit.abort(abortError(what));
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    return await Promise.race([
      fn(signal),
      new Promise<never>((_, reject) => {
        const fail = (): void => reject(signal.reason as Error);
        if (signal.aborted) fail();
        else signal.addEventListener('abort', fail, { once: true });
      }),
    ]);
  } finally {
    limit.clear();
    outer?.removeEventListener('abort', onOuterAbort);
    if (!signal.aborted) limit.abort(new Error(`${what}: finished`));
  }
}
