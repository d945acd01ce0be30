/**
 * HAProxy's runtime API, spoken through its admin socket with socat (HAProxy's own documented
 * client) on the machine that holds the socket: `set server <backend>/<server> state
 * drain|ready`, read back with `show servers state`, open sessions from `show stat`. Each
 * function returns one shell command, so a dry run prints exactly what would be sent.
 */
import { raw, type Command } from '../shell/command.js';
import { lines, sh } from '../shell/sh.js';

/** Where the admin socket is: a path (a unix socket) or host:port (a TCP "stats socket"). */
export function socatAddress(socket: string): string {
  const tcp = /^(\[[^\]]+\]|[^/:]+):(\d+)$/.exec(socket);
  return tcp ? `TCP:${tcp[1]}:${tcp[2]}` : `UNIX-CONNECT:${socket}`;
}

/** `api CMD` sends one command to the admin socket and prints the answer. */
function api(socket: string): Command {
  const need = 'socat is not installed on the machine that drives the load balancer: ship sends HAProxy runtime commands with it (apt-get install socat)';
  return lines(
    sh`command -v socat >/dev/null 2>&1 || { echo ${need} >&2; exit 127; }`,
    sh`api() { printf '%s\\n' "$1" | socat -t 10 - ${socatAddress(socket)} || { echo ${`the HAProxy admin socket ${socket} does not answer`} >&2; exit 1; }; }`,
  );
}

/** Sends `set server ... state <state>`; HAProxy answers nothing on success, else why not. */
function setState(backend: string, server: string, state: 'drain' | 'ready'): Command {
  return lines(
    sh`out=$(api ${`set server ${backend}/${server} state ${state}`}) || exit 1`,
    sh`[ -z "$out" ] || { echo "HAProxy refused to set ${raw(state)} on ${raw('$server_label')}: $out" >&2; exit 1; }`,
  );
}

/** `admin` = the server's srv_admin_state from `show servers state`; fails when it is not in the backend. */
function readAdminState(backend: string, server: string): Command {
  return lines(
    sh`admin=$(api ${`show servers state ${backend}`} | awk -v s=${server} '$4 == s { print $7 }') || exit 1`,
    sh`[ -n "$admin" ] || { echo "HAProxy has no server $server_label" >&2; exit 1; }`,
  );
}

/** Open sessions of the server (scur in `show stat`), polled until 0 or the deadline. */
function waitForSessions(backend: string, server: string, timeoutMs: number): Command {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const scur = `NR == 1 { for (i = 1; i <= NF; i++) if ($i == "scur") c = i; next } $1 == b && $2 == s { print $c }`;
  return lines(
    sh`end=$(( $(date +%s) + ${seconds} ))`,
    sh`while :; do`,
    sh`  n=$(api 'show stat' | awk -F, -v b=${backend} -v s=${server} ${scur}) || exit 1`,
    sh`  [ "\${n:-0}" -eq 0 ] && break`,
    sh`  if [ "$(date +%s)" -ge "$end" ]; then echo "warning: $server_label still has $n open session(s) after ${raw(String(seconds))}s; going on" >&2; break; fi`,
    sh`  sleep 0.1`,
    sh`done`,
  );
}

const label = (backend: string, server: string): Command => sh`server_label=${`${backend}/${server}`}`;

/** Takes the server out of rotation, proves it (admin state has the drain bit, 0x08), waits for its sessions. */
export function haproxyDrain(socket: string, backend: string, server: string, timeoutMs: number): Command {
  return lines(
    api(socket),
    label(backend, server),
    setState(backend, server, 'drain'),
    readAdminState(backend, server),
    sh`[ $(( admin / 8 % 2 )) -eq 1 ] || { echo "HAProxy did not drain $server_label (admin state $admin)" >&2; exit 1; }`,
    waitForSessions(backend, server, timeoutMs),
  );
}

/** Puts the server back in rotation and proves it (no maintenance or drain bit left, 0x01-0x08). */
export function haproxyEnable(socket: string, backend: string, server: string): Command {
  return lines(
    api(socket),
    label(backend, server),
    setState(backend, server, 'ready'),
    readAdminState(backend, server),
    sh`[ $(( admin % 16 )) -eq 0 ] || { echo "HAProxy did not put $server_label back in rotation (admin state $admin)" >&2; exit 1; }`,
  );
}

/** Prints the server names of the backend, one per line (for `ship check`). */
export function haproxyServers(socket: string, backend: string): Command {
  return lines(api(socket), sh`api ${`show servers state ${backend}`} | awk 'NR > 1 && $1 !~ /^#/ { print $4 }'`);
}
