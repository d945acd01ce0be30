import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DELTA_INCOMPLETE, MANIFEST, type ManifestEntry, parseManifest, planDelta, renderManifest, unpackDelta } from '../../src/release/manifest.js';
import { serverPaths } from '../../src/release/paths.js';
import { render } from '../../src/shell/render.js';

const h = (c: string) => c.repeat(40);
const files = (entries: [string, string, string][]) => new Map<string, ManifestEntry>(entries.map(([p, hash, mode]) => [p, { hash, mode }]));

describe('release manifests and deltas', () => {
  it('renders sorted lines that parse back, a path with spaces whole; a path with a newline is left out', () => {
    const m = files([
      ['b c/d.js', h('a'), '644'],
      ['a.js', h('b'), '755'],
      ['x\ny', h('c'), '644'],
    ]);
    const text = renderManifest(m);
    expect(text).toBe(`${h('b')} 755 a.js\n${h('a')} 644 b c/d.js\n`);
    expect([...parseManifest(text)]).toEqual([
      ['a.js', { hash: h('b'), mode: '755' }],
      ['b c/d.js', { hash: h('a'), mode: '644' }],
    ]);
  });

  it('sends what is new, changed in content or changed in mode; links the rest', () => {
    const previous = files([
      ['same.js', h('1'), '644'],
      ['content.js', h('1'), '644'],
      ['mode.sh', h('2'), '644'],
      ['gone.js', h('3'), '644'],
    ]);
    const next = files([
      ['same.js', h('1'), '644'],
      ['content.js', h('4'), '644'],
      ['mode.sh', h('2'), '755'],
      ['new.js', h('5'), '644'],
    ]);
    expect(planDelta(next, previous)).toEqual({ send: ['content.js', 'mode.sh', 'new.js'], link: ['same.js'] });
    expect(planDelta(next, new Map())).toEqual({ send: ['content.js', 'mode.sh', 'new.js', 'same.js'], link: [] });
  });
});

describe('unpackDelta, run by sh on this machine', () => {
  /**
   * A previous release with three files and its manifest, and a delta tar holding one new
   * file and the new manifest, whose lines are `next` (the previous release's line for a
   * file it keeps unchanged: the host links what both manifests list the same).
   */
  const setup = (next: string[], previousManifest = true) => {
    const root = mkdtempSync(join(tmpdir(), 'ship-delta-'));
    const paths = serverPaths(root);
    const old = paths.release('1');
    mkdirSync(join(old, 'lib', 'a b'), { recursive: true });
    writeFileSync(join(old, 'lib', 'same.js'), 'same');
    writeFileSync(join(old, 'lib', 'a b', "it's.js"), 'spaces');
    writeFileSync(join(old, 'old.js'), 'old');
    if (previousManifest)
      writeFileSync(
        join(old, MANIFEST),
        [`${h('1')} 644 lib/same.js`, `${h('2')} 644 lib/a b/it's.js`, `${h('3')} 644 old.js`, `${h('4')} 644 lib/gone.js`, ''].join('\n'),
      );
    const src = mkdtempSync(join(tmpdir(), 'ship-delta-src-'));
    writeFileSync(join(src, 'new.js'), 'new');
    writeFileSync(join(src, MANIFEST), [...next, `${h('5')} 644 new.js`, ''].join('\n'));
    const tar = execFileSync('tar', ['-c', '-b', '1', '-f', '-', '-C', src, '.']);
    const run = () => spawnSync('sh', ['-c', render(unpackDelta(paths, '2', '1'))], { input: tar });
    return { paths, run };
  };

  it('unpacks the changed files and hard-links what both manifests list the same from the previous release', () => {
    // old.js changed content (another hash): not linked, and this delta does not carry it
    const { paths, run } = setup([`${h('1')} 644 lib/same.js`, `${h('2')} 644 lib/a b/it's.js`]);
    const r = run();
    expect(r.status, String(r.stderr)).toBe(0);
    const [before, after] = [paths.release('1'), paths.release('2')];
    expect(readFileSync(join(after, 'new.js'), 'utf8')).toBe('new');
    expect(statSync(join(after, 'lib', 'same.js')).ino).toBe(statSync(join(before, 'lib', 'same.js')).ino);
    expect(statSync(join(after, 'lib', 'a b', "it's.js")).ino).toBe(statSync(join(before, 'lib', 'a b', "it's.js")).ino);
    expect(existsSync(join(after, 'old.js'))).toBe(false);
    expect(readFileSync(join(before, 'old.js'), 'utf8')).toBe('old');
  });

  it('a file of the new manifest that is neither sent nor linkable removes the new release and exits DELTA_INCOMPLETE', () => {
    // lib/gone.js: listed the same in both manifests, but the previous release lacks it
    const { paths, run } = setup([`${h('1')} 644 lib/same.js`, `${h('4')} 644 lib/gone.js`]);
    expect(run().status).toBe(DELTA_INCOMPLETE);
    expect(existsSync(paths.release('2'))).toBe(false);
    expect(readFileSync(join(paths.release('1'), 'lib', 'same.js'), 'utf8')).toBe('same');
  });

  it('a previous release without its manifest links nothing: DELTA_INCOMPLETE', () => {
    const { paths, run } = setup([`${h('1')} 644 lib/same.js`], false);
    expect(run().status).toBe(DELTA_INCOMPLETE);
    expect(existsSync(paths.release('2'))).toBe(false);
  });
});
