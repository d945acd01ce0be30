import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapSettled, type Member, runOn } from '../engine/index.js';
import { MANIFEST, type ManifestEntry, parseManifest, planDelta, readManifest, renderManifest } from '../release/manifest.js';
import { cmd } from '../shell/command.js';
import type { DeployRun } from './run.js';

/**
 * Delta uploads, on this machine: the archive (source or built release) unpacked here once,
 * its manifest made, then one tar per kind of host: the whole release for a host without a
 * previous manifest, and for hosts whose current release has the same manifest, one tar of
 * the files that differ and the new manifest (the host links the others, found by comparing
 * the two manifests).
 */
export interface Shipment {
  /** The tar each host receives, and the release it links unchanged files from (delta only). */
  forHost(m: Member): { path: string; from?: string; files: number; linked: number };
  /** The whole release as one tar (made once, when first asked): for a host a delta could not serve. */
  whole(): Promise<string>;
  remove(): Promise<void>;
}

export async function prepareShipment(run: DeployRun, archive: string): Promise<Shipment> {
  const root = await mkdtemp(join(tmpdir(), `ship-${run.stage.app}-delta-`));
  const dir = join(root, 'release');
  try {
    await mkdir(dir);
    await local(run, 'unpack here', cmd('tar', '-x', '-f', archive, '-C', dir));
    const tree = await walk(dir);
    await writeFile(join(dir, MANIFEST), renderManifest(tree.files));
    const previous = await previousManifests(run);
    const byManifest = new Map<string, Member[]>();
    for (const m of run.members) {
      const text = previous.get(m.host.name) ?? '';
      byManifest.set(text, [...(byManifest.get(text) ?? []), m]);
    }
    const plans = new Map<string, { path: string; from?: string; files: number; linked: number }>();
    let n = 0;
    for (const [text, members] of byManifest) {
      const path = join(root, `send-${n++}.tar`);
      // made empty first: a dry run records the packing without running it
      await writeFile(path, '');
      if (!text) {
        await local(run, 'pack', cmd('tar', '-c', '-f', path, '-C', dir, '.'));
        for (const m of members) plans.set(m.host.name, { path, files: tree.files.size, linked: 0 });
        continue;
      }
      const delta = planDelta(tree.files, parseManifest(text));
      const list = join(root, `list-${n}`);
      const entries = [MANIFEST, ...delta.send, ...tree.always];
      await writeFile(list, entries.map((p) => `./${p}\n`).join(''));
      // records of one block: a delta of a few small files is not padded to tar's 10 KiB
      await local(run, 'pack changes', cmd('tar', '-c', '-b', '1', '-f', path, '-C', dir, '--no-recursion', '-T', list));
      for (const m of members) plans.set(m.host.name, { path, from: m.state.current!, files: delta.send.length, linked: delta.link.length });
    }
    let whole: Promise<string> | undefined;
    const packWhole = async () => {
      const path = join(root, 'whole.tar');
      await writeFile(path, '');
      await local(run, 'pack', cmd('tar', '-c', '-f', path, '-C', dir, '.'));
      return path;
    };
    return {
      forHost: (m) => plans.get(m.host.name)!,
      whole: () => (whole ??= packWhole()),
      remove: () => rm(root, { recursive: true, force: true }),
    };
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw e;
  }
}

/** Each host's manifest of its current release, when it has one (hosts without: none). */
async function previousManifests(run: DeployRun): Promise<Map<string, string>> {
  const withCurrent = run.members.filter((m) => m.state.current);
  const read = await mapSettled(withCurrent, run.env.concurrency, (m) =>
    runOn(run.env, {
      host: m.host.name,
      transport: m.transport,
      steps: [{ label: 'manifest', command: readManifest(m.paths, m.state.current!), quiet: true }],
    }),
  );
  // a host whose manifest cannot be read gets the whole release: a delta is never guessed
  return new Map(withCurrent.map((m, i) => [m.host.name, read[i]?.status === 'fulfilled' && read[i].value.ok ? (read[i].value.steps[0]?.stdout ?? '') : '']));
}

async function local(run: DeployRun, label: string, command: ReturnType<typeof cmd>): Promise<void> {
  const transport = run.env.localTransport;
  if (!transport) throw new Error('delta uploads need a local transport');
  const r = await runOn(run.env, { host: 'local', transport, steps: [{ label, command }], quiet: true });
  if (!r.ok) throw new Error(r.error?.message ?? `${label} failed here (exit ${r.exitCode})`);
}

/**
 * The regular files of a tree with their sha1 and mode, and what is always sent whole:
 * symlinks, empty directories, and files whose path holds a newline.
 */
async function walk(dir: string): Promise<{ files: Map<string, ManifestEntry>; always: string[] }> {
  const files = new Map<string, ManifestEntry>();
  const always: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    if (rel && entries.length === 0) always.push(rel);
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(p);
      else if (e.isFile() && !p.includes('\n')) {
        const st = await lstat(join(dir, p));
        files.set(p, { hash: await sha1(join(dir, p)), mode: (st.mode & 0o7777).toString(8) });
      } else always.push(p);
    }
  };
  await visit('');
  return { files, always };
}

function sha1(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha1');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}
