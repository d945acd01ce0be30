import { describe, expect, it } from 'vitest';
import { type ManifestEntry, parseManifest, planDelta, renderManifest } from '../../src/release/manifest.js';

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
