import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DELTA_INCOMPLETE, LINK_LIST, type ManifestEntry, parseManifest, planDelta, renderManifest, unpackDelta } from '../../src/release/manifest.js';
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
  /** A previous release with two files, and a delta tar holding one new file and the list of the other. */
  const setup = (link: string[]) => {
    const root = mkdtempSync(join(tmpdir(), 'ship-delta-'));
    const paths = serverPaths(root);
    mkdirSync(join(paths.release('1'), 'lib'), { recursive: true });
    writeFileSync(join(paths.release('1'), 'lib', 'same.js'), 'same');
    writeFileSync(join(paths.release('1'), 'old.js'), 'old');
    const src = mkdtempSync(join(tmpdir(), 'ship-delta-src-'));
    writeFileSync(join(src, 'new.js'), 'new');
    writeFileSync(join(src, LINK_LIST), link.map((p) => `${p}\n`).join(''));
    const tar = execFileSync('tar', ['-c', '-f', '-', '-C', src, '.']);
    const run = () => spawnSync('sh', ['-c', render(unpackDelta(paths, '2', '1'))], { input: tar });
    return { paths, run };
  };

  it('unpacks the changed files and hard-links the listed ones from the previous release', () => {
    const { paths, run } = setup(['lib/same.js']);
    expect(run().status).toBe(0);
    expect(readFileSync(join(paths.release('2'), 'new.js'), 'utf8')).toBe('new');
    expect(statSync(join(paths.release('2'), 'lib', 'same.js')).ino).toBe(statSync(join(paths.release('1'), 'lib', 'same.js')).ino);
    expect(existsSync(join(paths.release('2'), 'old.js'))).toBe(false);
    expect(existsSync(join(paths.release('2'), LINK_LIST))).toBe(false);
  });

  it('a listed file the previous release lacks removes the new release and exits DELTA_INCOMPLETE', () => {
    const { paths, run } = setup(['lib/same.js', 'lib/gone.js']);
    expect(run().status).toBe(DELTA_INCOMPLETE);
    expect(existsSync(paths.release('2'))).toBe(false);
    expect(readFileSync(join(paths.release('1'), 'lib', 'same.js'), 'utf8')).toBe('same');
  });
});
