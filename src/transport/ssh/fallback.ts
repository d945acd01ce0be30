import { shText } from '../../shell/sh.js';
import { HTTP_BODY_LIMIT } from './http-over-stream.js';
import type { HttpResponse } from '../types.js';

/**
 * When a server refuses TCP forwarding (AllowTcpForwarding no: "administratively
 * prohibited"), the HTTP GET and the TCP probe run as small scripts on the host instead,
 * with curl/wget and nc/bash. Pure: these functions only build scripts and read output.
 */

const STATUS_PREFIX = 'ship-http-status: ';
const HEADER_PREFIX = 'ship-http-header: ';
const BODY_MARK = 'ship-http-body';

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** What a host has to make an HTTP GET or open a TCP connection with, found once per run. */
export interface HostTools {
  http?: 'curl' | 'wget-gnu' | 'wget-busybox';
  tcp?: 'nc-z' | 'nc' | 'bash';
  /** `timeout` exists (coreutils or BusyBox): bounds a wget that has no -T of its own. */
  timeout: boolean;
}

/**
 * Prints one line of `tool=flavour` words: curl, GNU wget (it knows --content-on-error) or
 * BusyBox's (it does not), an nc with -z or without (BusyBox), bash, timeout.
 */
export const HOST_TOOLS_SCRIPT = `t=
if command -v curl >/dev/null 2>&1; then t="$t http=curl"
elif command -v wget >/dev/null 2>&1; then
  if wget --help 2>&1 | grep -q -- --content-on-error; then t="$t http=wget-gnu"; else t="$t http=wget-busybox"; fi
fi
if command -v nc >/dev/null 2>&1; then
  if nc -h 2>&1 | grep -q -- '-z'; then t="$t tcp=nc-z"; else t="$t tcp=nc"; fi
elif command -v bash >/dev/null 2>&1; then t="$t tcp=bash"
fi
if command -v timeout >/dev/null 2>&1; then t="$t timeout=1"; fi
echo "ship-tools:$t"
`;

/** Reads HOST_TOOLS_SCRIPT's line. */
export function parseHostTools(stdout: string): HostTools {
  const line = stdout.split('\n').find((l) => l.startsWith('ship-tools:')) ?? '';
  const words = new Map(
    line
      .slice('ship-tools:'.length)
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => w.split('=') as [string, string]),
  );
  const http = words.get('http');
  const tcp = words.get('tcp');
  return {
    ...(http === 'curl' || http === 'wget-gnu' || http === 'wget-busybox' ? { http } : {}),
    ...(tcp === 'nc-z' || tcp === 'nc' || tcp === 'bash' ? { tcp } : {}),
    timeout: words.has('timeout'),
  };
}

/** What a host without forwarding lacks to be health-checked over HTTP. */
export const NO_HTTP_CLIENT = 'neither curl nor wget';

/** A script that GETs `url` from the host with the client it has and prints a status line, then the body head. */
export function httpGetScript(url: string, timeoutMs: number, tools: HostTools): string {
  const s = seconds(timeoutMs);
  const head = shText`url=${url}
t=$(mktemp) || exit 1
trap 'rm -f "$t" "$t.h"' EXIT
`;
  const status = shText`code=$(sed -n 's/^ *HTTP\\/[0-9.]* \\([0-9][0-9][0-9]\\).*/\\1/p' "$t.h" | tail -n 1)
if [ -z "$code" ]; then cat "$t.h" >&2; exit 1; fi
`;
  const tail = shText`printf ${`${STATUS_PREFIX}%s\\n`} "$code"
tr -d '\\r' < "$t.h" | sed -n ${`s/^ *\\([A-Za-z0-9_-]*\\): *\\(.*\\)$/${HEADER_PREFIX}\\1: \\2/p`}
printf '%s\\n' ${BODY_MARK}
head -c ${HTTP_BODY_LIMIT} "$t"
`;
  switch (tools.http) {
    case 'curl':
      return `${head}${shText`code=$(curl -sS -o "$t" -D "$t.h" -w '%{http_code}' --max-time ${s} -H 'Connection: close' -- "$url") || exit $?
`}${tail}`;
    case 'wget-gnu':
      return `${head}${shText`wget -q -S --content-on-error -T ${s} -O "$t" -- "$url" 2>"$t.h"
`}${status}${tail}`;
    case 'wget-busybox':
      // BusyBox wget: no --content-on-error (an error status leaves no body), no -T in some
      // builds (Debian's crashes on it): timeout bounds it where the host has timeout
      return `${head}${tools.timeout ? shText`timeout ${s} ` : ''}${shText`wget -q -S -O "$t" "$url" 2>"$t.h"
`}${status}${tail}`;
    default:
      return shText`echo ${`${NO_HTTP_CLIENT} is installed on this host`} >&2; exit 127
`;
  }
}

/** Reads httpGetScript's output; undefined when it printed no status (the GET failed). */
export function parseHttpGetOutput(stdout: string): HttpResponse | undefined {
  if (!stdout.startsWith(STATUS_PREFIX)) return undefined;
  const newline = stdout.indexOf('\n');
  const code = stdout.slice(STATUS_PREFIX.length, newline === -1 ? undefined : newline).trim();
  if (!/^\d{3}$/.test(code) || code === '000') return undefined;
  const headers: Record<string, string> = {};
  let at = newline === -1 ? stdout.length : newline + 1;
  while (stdout.startsWith(HEADER_PREFIX, at)) {
    const end = stdout.indexOf('\n', at);
    const line = stdout.slice(at + HEADER_PREFIX.length, end === -1 ? undefined : end);
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    at = end === -1 ? stdout.length : end + 1;
  }
  if (stdout.startsWith(`${BODY_MARK}\n`, at)) at += BODY_MARK.length + 1;
  return { status: Number(code), body: stdout.slice(at), headers };
}

/** A script that exits 0 when the host can open a TCP connection to host:port. */
export function tcpProbeScript(host: string, port: number, timeoutMs: number, tools: HostTools): string {
  const s = seconds(timeoutMs);
  const target = shText`h=${host}; p=${port}
`;
  switch (tools.tcp) {
    case 'nc-z':
      return `${target}${shText`exec nc -z -w ${s} "$h" "$p"
`}`;
    case 'nc':
      // BusyBox nc has no -z: connect with nothing to send, and leave at once
      return `${target}${shText`exec nc -w ${s} "$h" "$p" </dev/null >/dev/null
`}`;
    case 'bash':
      return `${target}${shText`exec bash -c ': <"/dev/tcp/$1/$2"' probe "$h" "$p"
`}`;
    default:
      return shText`echo 'neither nc nor bash is installed on this host' >&2; exit 127
`;
  }
}
