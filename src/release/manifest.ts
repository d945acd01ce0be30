import { and, type Command } from '../shell/command.js';
import { sh } from '../shell/sh.js';
import type { ServerPaths } from './paths.js';
import { unpackUpload } from './prepare.js';

/**
 * Delta uploads (strategies upload and artifact): each release holds a manifest of its regular
 * files (content hash, mode, path). A host whose current release has one receives only the
 * files whose hash or mode differ, and hard-links the others from that release.
 */

/** The manifest's name inside a release. */
export const MANIFEST = '.ship-manifest';

export interface ManifestEntry {
  hash: string;
  mode: string;
}

/** One line per file: `<sha1> <octal mode> <path>`; a path with a newline is never listed (always sent). */
export function renderManifest(files: Map<string, ManifestEntry>): string {
  return [...files.entries()]
    .filter(([p]) => !p.includes('\n'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([p, e]) => `${e.hash} ${e.mode} ${p}\n`)
    .join('');
}

export function parseManifest(text: string): Map<string, ManifestEntry> {
  const files = new Map<string, ManifestEntry>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{40}) ([0-7]{3,6}) (.+)$/.exec(line);
    if (m) files.set(m[3]!, { hash: m[1]!, mode: m[2]! });
  }
  return files;
}

/** Which files of the next release a host must receive, and which it links from its current one. */
export function planDelta(next: Map<string, ManifestEntry>, previous: Map<string, ManifestEntry>): { send: string[]; link: string[] } {
  const send: string[] = [];
  const link: string[] = [];
  for (const [path, e] of next) {
    const p = previous.get(path);
    if (p && p.hash === e.hash && p.mode === e.mode && !path.includes('\n')) link.push(path);
    else send.push(path);
  }
  return { send: send.sort(), link: link.sort() };
}

/** Prints the manifest of the host's current release (nothing when it has none). */
export function readManifest(paths: ServerPaths, current: string): Command {
  const file = `${paths.release(current)}/${MANIFEST}`;
  return sh`if [ -f ${file} ]; then cat -- ${file}; fi`;
}

/** Exit code of unpackDelta when the previous release lacked a file to link: the new release is removed. */
export const DELTA_INCOMPLETE = 76;

/**
 * Command line (nothing secret: visible in `ps`) that unpacks a delta from stdin into a new
 * release (the changed files and the new manifest), then hard-links from the previous release
 * every file whose manifest line (hash, mode, path) is the same in both manifests: the host
 * derives that list itself, so it is not sent. A few cp processes for thousands of files
 * (xargs), parents made as needed. Then every file of the new manifest must be there: one the
 * previous release no longer has (a build or a shared link replaced it there) makes it remove
 * the new release and exit DELTA_INCOMPLETE, and ship sends that host the whole release.
 */
export function unpackDelta(paths: ServerPaths, id: string, previous: string): Command {
  const dir = paths.release(id);
  const from = paths.release(previous);
  const manifest = `${dir}/${MANIFEST}`;
  return and(
    // the changed files and the manifest, unpacked as a whole upload is (same umask, same marker)
    unpackUpload(paths, id),
    sh`if [ -f ${from}/${MANIFEST} ]; then
  (cd -- ${from} && awk 'NR == FNR { seen[$0] = 1; next } ($0 in seen) { sub(/^[^ ]+ [^ ]+ /, ""); print }' ${MANIFEST} ${manifest} | tr '\\n' '\\000' | xargs -0 -r cp -l --parents -t ${dir} -- 2>/dev/null)
fi
sed 's/^[^ ]* [^ ]* //' ${manifest} | { while IFS= read -r __p; do [ -f ${dir}/"$__p" ] || exit 1; done; } || { rm -rf -- ${dir}; exit ${DELTA_INCOMPLETE}; }`,
  );
}
