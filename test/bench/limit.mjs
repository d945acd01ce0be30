/**
 * The limit: what a deploy costs at the least on this fleet. One process, one ssh2
 * connection per host, all hosts at once, and on each a single exec doing the bare minimum of
 * the same deploy: make sure the bare mirror has the sha (clone or fetch, only when needed),
 * `git archive` into a new release (or unpack the uploaded tar), REVISION, the shared links,
 * the atomic swap of `current`, prune. A rollback is one exec that swaps `current`.
 * No lock, no history, no inspection, no output protocol: a floor, not a competitor.
 *
 * Mode 'floor' (the connect floor) drops the deploy too: the same connections, and on each one
 * exec of `true`. What any SSH deploy tool pays at the least on this fleet, whatever it deploys.
 *
 *   node test/bench/limit.mjs JOB.json
 *
 * JOB: { hosts: [{address, port, deployTo}], user, identityFile, knownHostsFile,
 *        mode: 'deploy'|'rollback'|'floor', strategy: 'remote'|'upload', repo, sha, release,
 *        target, keep, shared: [dirs], archive? }
 *      archive (strategy upload): a tar to send instead of `git archive` of the sha (a built release).
 *      mode 'floor' needs only hosts (without deployTo), user, identityFile, knownHostsFile.
 * Exits 0 when every host succeeded, 1 otherwise (naming the failures on stderr).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

// known_hosts: "addr type base64" lines written by the fleet harness (port 22 in root mode)
const known = new Map();
for (const line of readFileSync(job.knownHostsFile, 'utf8').split('\n')) {
  const [pattern, , b64] = line.trim().split(/\s+/);
  if (pattern && b64) known.set(pattern, Buffer.from(b64, 'base64'));
}
const privateKey = readFileSync(job.identityFile);

function deployScript(D) {
  const R = `${D}/releases/${job.release}`;
  const lines = ['set -e', `mkdir -p ${q(`${D}/releases`)} ${job.shared.map((d) => q(`${D}/shared/${d}`)).join(' ')}`];
  if (job.strategy === 'remote') {
    const git = `git -C ${q(`${D}/repo`)}`;
    lines.push(
      `[ -d ${q(`${D}/repo`)} ] || git clone --mirror --quiet -- ${q(job.repo)} ${q(`${D}/repo`)}`,
      `${git} cat-file -e ${job.sha}^{commit} 2>/dev/null || ${git} fetch --quiet --prune origin`,
      `mkdir ${q(R)}`,
      `${git} archive --format=tar ${job.sha} | tar -x -f - -C ${q(R)}`,
    );
  } else {
    lines.push(`mkdir ${q(R)}`, `tar -x -f - -C ${q(R)}`);
  }
  lines.push(
    `printf '%s\\n' ${job.sha} > ${q(`${R}/REVISION`)}`,
    ...job.shared.map((d) => `ln -s ${q(`${D}/shared/${d}`)} ${q(`${R}/${d}`)}`),
    ...swap(D, R),
    `cd ${q(`${D}/releases`)} && ls -1 | sort | head -n -${job.keep} | xargs -r rm -rf --`,
  );
  return lines.join('\n');
}

function swap(D, R) {
  return [`mkdir -p ${q(`${D}/.next`)}`, `ln -sfn ${q(R)} ${q(`${D}/.next/current`)}`, `mv -f ${q(`${D}/.next/current`)} ${q(`${D}/`)}`];
}

function connect(h) {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    const pattern = h.port === 22 ? h.address : `[${h.address}]:${h.port}`;
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.connect({
      // TCP_NODELAY from the first byte: without it Nagle and delayed ACKs add ~40 ms to the
      // handshake and to every small exchange on loopback
      sock: tcpConnect({ host: h.address, port: h.port, noDelay: true }),
      username: job.user,
      privateKey,
      readyTimeout: 20_000,
      hostVerifier: (key) => known.get(pattern)?.equals(key) ?? false,
    });
  });
}

function exec(c, command, input) {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, ch) => {
      if (err) return reject(err);
      let stderr = '';
      let code = null;
      ch.on('data', () => {});
      ch.stderr.on('data', (d) => (stderr += d));
      ch.on('exit', (c0) => (code = c0));
      ch.on('close', () => resolve({ code, stderr }));
      if (input) createReadStream(input).pipe(ch);
      else ch.end();
    });
  });
}

let archive;
if (job.mode === 'deploy' && job.strategy === 'upload' && job.archive) archive = job.archive;
else if (job.mode === 'deploy' && job.strategy === 'upload') {
  archive = join(tmpdir(), `ship-bench-limit-${process.pid}.tar`);
  execFileSync('git', ['-C', job.repo, 'archive', '--format=tar', '-o', archive, job.sha]);
}
const commandFor = (D) => {
  if (job.mode === 'floor') return 'true';
  if (job.mode === 'rollback') return ['set -e', ...swap(D, `${D}/releases/${job.target}`)].join('\n');
  return deployScript(D);
};

const results = await Promise.allSettled(
  job.hosts.map(async (h) => {
    const c = await connect(h);
    try {
      const r = await exec(c, commandFor(h.deployTo), archive);
      if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.trim()}`);
    } finally {
      c.end();
    }
  }),
);
if (archive && archive !== job.archive) rmSync(archive, { force: true });
const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${job.hosts[i].address}: ${r.reason?.message ?? r.reason}`] : []));
if (failed.length) {
  process.stderr.write(`limit: ${failed.length} host(s) failed\n${failed.join('\n')}\n`);
  process.exitCode = 1;
}
