import { and, cmd, raw, redirect, type Command } from '../shell/command.js';
import { sh } from '../shell/sh.js';

/**
 * Builders for `strategy: artifact`: the release built once on the deploying machine, in a
 * clean tree of the sha, packed once and streamed to every host. Pure: they return commands.
 */

/** Unpacks the `git archive` of the sha into a new, empty build directory. */
export const unpackSource = (archive: string, dir: string): Command => and(cmd('mkdir', '--', dir), cmd('tar', '-x', '-f', archive, '-C', dir));

/** Packs the built tree (node_modules included), made once whatever the number of hosts. */
export const packArtifact = (dir: string, file: string): Command => cmd('tar', '-c', '-f', file, '-C', dir, '.');

/**
 * Prints what a native module is built for, as `node` on PATH sees it: platform, CPU
 * architecture and module ABI, one line (`linux x64 115`). Run here and on every host.
 */
export const probePlatform = (): Command => redirect(cmd('node', '-p', 'process.platform+" "+process.arch+" "+process.versions.modules'), { op: '2>&1' });

/** Prints every file of node_modules that is a compiled addon or the recipe of one. */
export const listNativeFiles = (): Command =>
  sh`if [ -d node_modules ]; then find node_modules ${raw("\\( -name '*.node' -o -name binding.gyp \\)")} -type f -print; fi`;

/** The packages that hold those files (`node_modules/@a/b/build/x.node` is @a/b), sorted, once each. */
export function nativePackages(files: string[]): string[] {
  const names = files.flatMap((f) => {
    const parts = f.split('/');
    const at = parts.lastIndexOf('node_modules');
    if (at < 0 || at + 1 >= parts.length) return [];
    const first = parts[at + 1]!;
    return first.startsWith('@') && parts[at + 2] ? [`${first}/${parts[at + 2]}`] : [first];
  });
  return [...new Set(names)].sort();
}

/**
 * Hosts whose platform line differs from the builder's, one message each: an artifact with
 * native modules runs only where they were compiled for.
 */
export function platformMismatches(builder: string, hosts: { host: string; platform: string }[]): string[] {
  return hosts.filter((h) => h.platform !== builder).map((h) => `${h.host}: runs ${h.platform || 'no node'}, the artifact was built for ${builder}`);
}
