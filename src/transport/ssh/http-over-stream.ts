import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { HttpResponse } from '../types.js';

/** Bodies are read up to this size: enough for a health check, bounded for a bad server. */
export const HTTP_BODY_LIMIT = 64 * 1024;

/**
 * One HTTP/1.1 GET spoken over an already open byte stream (an SSH direct-tcpip channel),
 * with `Connection: close`. https URLs get TLS over the same stream, verified against the
 * URL's host name. Aborting `signal` destroys the stream and rejects with its reason.
 */
export function httpGetOverStream(stream: Duplex, url: URL, signal: AbortSignal): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const hostname = bareHostname(url);
    const socket = secure
      ? tlsConnect({
          socket: stream,
          rejectUnauthorized: true,
          // RFC 6066 forbids SNI with an IP; the certificate is still checked against it.
          ...(isIP(hostname) ? {} : { servername: hostname }),
          host: hostname,
        })
      : decorateAsSocket(stream);

    let settled = false;
    const finish = (err: Error | null, res?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      socket.destroy();
      stream.destroy();
      if (err) reject(err);
      else resolve(res as HttpResponse);
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));

    const requestFn = secure ? httpsRequest : httpRequest;
    const req = requestFn(
      {
        createConnection: () => socket as never,
        method: 'GET',
        host: hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        headers: { Host: url.host, Connection: 'close', Accept: '*/*', 'User-Agent': 'ship' },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (): void => finish(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: headersOf(res) });
        res.on('data', (chunk: Buffer) => {
          if (size >= HTTP_BODY_LIMIT) return;
          const take = chunk.subarray(0, HTTP_BODY_LIMIT - size);
          chunks.push(take);
          size += take.length;
          if (size >= HTTP_BODY_LIMIT) done();
        });
        res.on('end', done);
        res.on('error', (err) => finish(err));
      },
    );
    req.on('error', (err) => finish(err));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}

/** Response headers by lower-case name, repeated ones joined with ", " (as fetch's Headers does). */
function headersOf(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** `[::1]` → `::1`: URL keeps IPv6 brackets, sockets and certificates do not. */
export function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

export function defaultPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** node:http calls a few net.Socket methods that an SSH channel lacks; none matter here. */
function decorateAsSocket(stream: Duplex): Duplex {
  const s = stream as Duplex & Record<string, unknown>;
  const noop = (): void => undefined;
  for (const method of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) {
    if (typeof s[method] !== 'function') s[method] = noop;
  }
  if (typeof s.destroySoon !== 'function') s.destroySoon = () => stream.destroy();
  return stream;
}
