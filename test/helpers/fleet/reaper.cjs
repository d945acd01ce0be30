'use strict';
/**
 * Reaper of e2e fleets whose test process is gone. Plain CommonJS with node builtins only, run
 * by path with the node binary of the test process:
 *
 *   node reaper.cjs watch TAG_VAR DIR_PREFIX OWNER
 *       stay detached; when OWNER dies (even by SIGKILL: vitest does that to a worker that
 *       ignores SIGTERM for 500 ms, and so does the OOM killer), reap its fleets and exit.
 *   node reaper.cjs reap-dead TAG_VAR DIR_PREFIX
 *       reap now the fleets of every dead owner (a crashed earlier run), so a stale sshd cannot
 *       hold 127.0.1.N:22 and fail this run for an unrelated reason.
 *
 * Owners are found from the environment tag TAG_VAR=<owner pid>:<host dir> (session
 * processes) and from the listener's command line, which holds the fleet dir, named
 * DIR_PREFIX<owner pid>-XXXXXX: sshd's setproctitle() overwrites the environment block of
 * sshd's own processes, so the tag cannot be read there. From a listener it follows its mount
 * namespace and its process tree. Keep in step with how sshd.ts selects a host's processes
 * and names its files (hostN/sshd_config).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const [mode, tagVar, dirPrefix, ownerArg] = process.argv.slice(2);
const prefix = String(dirPrefix).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const LISTENER = new RegExp(`(?:^|\\s)-f (\\S*\\/${prefix}(\\d+)-[^\\/\\s]+)\\/host\\d+\\/sshd_config(?:\\s|$)`);
const FLEET_DIR = new RegExp(`\\/${prefix}\\d+-[^\\/]+$`);

const read = (p) => {
  try {
    return fs.readFileSync(p, 'latin1');
  } catch {
    return '';
  }
};
const readlink = (p) => {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
};
const ownNs = readlink('/proc/self/ns/mnt');
/** 0, -1, 1 and negative pids are groups, every process, or init: never a victim. */
const isProcessPid = (pid) => Number.isInteger(pid) && pid > 1;

function stat(pid) {
  const s = read(`/proc/${pid}/stat`);
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]) };
}

function alive(pid) {
  if (!isProcessPid(pid)) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  const st = stat(pid).state;
  return !!st && st !== 'Z'; // this machine's init reaps orphans lazily
}

function scan() {
  const out = [];
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    const st = stat(n);
    if (!st.state || st.state === 'Z' || st.state === 'X') continue;
    const kv = read(`/proc/${n}/environ`)
      .split('\0')
      .find((s) => s.startsWith(`${tagVar}=`));
    const tag = kv?.slice(tagVar.length + 1);
    const m = LISTENER.exec(read(`/proc/${n}/cmdline`).replace(/\0/g, ' '));
    const p = { pid: Number(n), ppid: st.ppid, ns: readlink(`/proc/${n}/ns/mnt`), listener: !!m };
    if (m) {
      p.owner = Number(m[2]);
      p.dir = m[1];
    } else if (tag) {
      p.owner = Number(tag.split(':')[0]);
      p.dir = path.dirname(tag.slice(tag.indexOf(':') + 1));
    }
    out.push(p);
  }
  return out;
}

function select(procs, isDead, dirs) {
  const seeds = procs.filter((p) => isProcessPid(p.owner) && isDead(p.owner));
  for (const p of seeds) dirs.add(p.dir);
  const nss = new Set(seeds.filter((p) => p.listener && p.ns && p.ns !== ownNs).map((p) => p.ns));
  const todo = [...seeds, ...procs.filter((p) => nss.has(p.ns))].map((p) => p.pid);
  const found = new Set();
  while (todo.length) {
    const pid = todo.pop();
    if (found.has(pid)) continue;
    found.add(pid);
    for (const c of procs) if (c.ppid === pid) todo.push(c.pid);
  }
  return [...found];
}

function unmountAndRemove(dir) {
  if (!FLEET_DIR.test(dir)) return;
  const mounts = read('/proc/self/mounts')
    .split('\n')
    .map((l) => (l.split(' ')[1] || '').replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))));
  for (const m of mounts.filter((m) => m.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length)) {
    spawnSync('umount', ['-l', m]);
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {}
}

function reap(isDead) {
  const dirs = new Set();
  for (let round = 0; round < 400; round++) {
    const victims = select(scan(), isDead, dirs).filter(isProcessPid);
    if (!victims.length) break;
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
  for (const d of dirs) unmountAndRemove(d);
}

if (mode === 'watch') {
  const owner = Number(ownerArg);
  setInterval(() => {
    if (!alive(owner)) {
      reap((o) => o === owner);
      process.exit(0);
    }
  }, 500);
} else if (mode === 'reap-dead') {
  const dead = new Map();
  reap((o) => {
    if (!dead.has(o)) dead.set(o, !alive(o));
    return dead.get(o);
  });
} else {
  process.stderr.write(`reaper.cjs: unknown mode ${mode}\n`);
  process.exitCode = 2;
}
