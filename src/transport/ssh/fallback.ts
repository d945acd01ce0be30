import { shText } from '../../shell/sh.js';
import { HTTP_BODY_LIMIT } from './http-over-stream.js';
import type { HttpResponse } from '../types.js';

/**
 * When a server refuses TCP forwarding (AllowTcpForwarding no: "administratively
 * prohibited"), the HTTP GET and the TCP probe run as small scripts on the host instead,
 * with curl/wget and nc/bash. Pure: these functions only build scripts and read output.
 */

const STATUS_PREFIX = 'ship-http-status: ';

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** A script that GETs `url` from the host and prints a status line, then the body head. */
export function httpGetScript(url: string, timeoutMs: number): string {
  const s = seconds(timeoutMs);
  return shText`url=${url}
t=$(mktemp) || exit 1
trap 'rm -f "$t" "$t.h"' EXIT
if command -v curl >/dev/null 2>&1; then
  code=$(curl -sS -o "$t" -w '%{http_code}' --max-time ${s} -H 'Connection: close' -- "$url") || exit $?
elif command -v wget >/dev/null 2>&1; then
  wget -q -S --content-on-error -T ${s} -O "$t" -- "$url" 2>"$t.h"
  code=$(sed -n 's/^ *HTTP\\/[0-9.]* \\([0-9][0-9][0-9]\\).*/\\1/p' "$t.h" | tail -n 1)
  if [ -z "$code" ]; then cat "$t.h" >&2; exit 1; fi
else
  echo 'neither curl nor wget is installed on this host' >&2; exit 127
fi
printf ${`${STATUS_PREFIX}%s\\n`} "$code"
head -c ${HTTP_BODY_LIMIT} "$t"
`;
}

/** Reads httpGetScript's output; undefined when it printed no status (the GET failed). */
export function parseHttpGetOutput(stdout: string): HttpResponse | undefined {
  if (!stdout.startsWith(STATUS_PREFIX)) return undefined;
  const newline = stdout.indexOf('\n');
  const code = stdout.slice(STATUS_PREFIX.length, newline === -1 ? undefined : newline).trim();
  if (!/^\d{3}$/.test(code) || code === '000') return undefined;
  return { status: Number(code), body: newline === -1 ? '' : stdout.slice(newline + 1) };
}

/** A script that exits 0 when the host can open a TCP connection to host:port. */
export function tcpProbeScript(host: string, port: number, timeoutMs: number): string {
  const s = seconds(timeoutMs);
  return shText`h=${host}; p=${port}
if command -v nc >/dev/null 2>&1; then
  exec nc -z -w ${s} "$h" "$p"
elif command -v bash >/dev/null 2>&1; then
  exec bash -c ': <"/dev/tcp/$1/$2"' probe "$h" "$p"
else
  echo 'neither nc nor bash is installed on this host' >&2; exit 127
fi
`;
}
