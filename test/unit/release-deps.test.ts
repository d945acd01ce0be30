import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativePackages, platformMismatches } from '../../src/release/artifact.js';
import { pruneInstalls } from '../../src/release/deps.js';
import { inspectHost, parseInspection } from '../../src/release/inspect.js';
import { serverPaths } from '../../src/release/paths.js';
import { render } from '../../src/shell/render.js';

/** A deploy_to on this machine (with a space, to hold the quoting to account) and a shell to run commands in it. */
function layout() {
  const root = join(mkdtempSync(join(tmpdir(), 'ship-deps-')), 'deploy to');
  const paths = serverPaths(root);
  const install = (name: string) => mkdirSync(join(paths.deps, name, 'node_modules'), { recursive: true });
  const release = (id: string, deps?: string) => {
    mkdirSync(paths.release(id), { recursive: true });
    if (deps) symlinkSync(join(paths.deps, deps, 'node_modules'), join(paths.release(id), 'node_modules'));
  };
  const run = (c: ReturnType<typeof inspectHost>) => execFileSync('sh', ['-c', render(c)], { encoding: 'utf8' });
  return { paths, install, release, run };
}

describe('shared dependency installs on a host', () => {
  it('the inspection names the install each release links to, and says that deps/ exists', () => {
    const h = layout();
    h.install('npm-aaa');
    h.release('20260101000000', 'npm-aaa');
    h.release('20260102000000');
    const state = parseInspection('h1', h.paths, h.run(inspectHost(h.paths)), new Date('2026-06-01T00:00:00Z'));
    expect(state.installs).toBe(true);
    expect(state.releases.map((r) => [r.id, r.deps])).toEqual([
      ['20260101000000', 'npm-aaa'],
      ['20260102000000', undefined],
    ]);
  });

  it('a node_modules link outside deps/ is no shared install', () => {
    const paths = serverPaths('/srv/app');
    const out = 'current \nrelease 20260101000000 0 0 0 - /elsewhere/node_modules\nrelease 20260102000000 0 0 0 - /srv/app/deps/a/b/node_modules\n';
    const state = parseInspection('h1', paths, out, new Date('2026-06-01T00:00:00Z'));
    expect(state.installs).toBe(false);
    expect(state.releases.map((r) => r.deps)).toEqual([undefined, undefined]);
  });

  it('pruning keeps the installs that releases link to and removes the others and every temporary one', () => {
    const h = layout();
    for (const name of ['npm-used', 'npm-unused', 'pnpm-used', '.partial-npm-used', '.partial-npm-x']) h.install(name);
    h.release('20260101000000', 'npm-used');
    h.release('20260102000000', 'pnpm-used');
    h.release('20260103000000', 'npm-used');
    h.run(pruneInstalls(h.paths));
    expect(readdirSync(h.paths.deps).sort()).toEqual(['npm-used', 'pnpm-used']);
  });

  it('pruning a host without deps/ does nothing', () => {
    const h = layout();
    h.release('20260101000000');
    h.run(pruneInstalls(h.paths));
    expect(existsSync(h.paths.deps)).toBe(false);
  });
});

describe('artifact: native modules and platforms', () => {
  it('names the packages that hold compiled addons, scoped ones whole, once each', () => {
    expect(
      nativePackages([
        'node_modules/bcrypt/lib/binding/napi-v3/bcrypt_lib.node',
        'node_modules/bcrypt/binding.gyp',
        'node_modules/@scope/addon/build/Release/a.node',
        'node_modules/.pnpm/sharp@1.0.0/node_modules/sharp/build/Release/sharp.node',
      ]),
    ).toEqual(['@scope/addon', 'bcrypt', 'sharp']);
    expect(nativePackages([])).toEqual([]);
  });

  it('a host whose node reports another platform, CPU or ABI is named with both', () => {
    expect(
      platformMismatches('linux x64 115', [
        { host: 'web1', platform: 'linux x64 115' },
        { host: 'web2', platform: 'linux arm64 115' },
        { host: 'web3', platform: '' },
      ]),
    ).toEqual(['web2: runs linux arm64 115, the artifact was built for linux x64 115', 'web3: runs no node, the artifact was built for linux x64 115']);
  });
});
