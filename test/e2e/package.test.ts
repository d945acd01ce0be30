/**
 * ship as an app installs it: `npm pack` makes the package, a fresh project outside this
 * repository installs the tarball as a dev dependency (ship's runtime dependencies come from
 * the npm cache that installing ship filled), and its own copy runs: `npx --no ship`, a
 * dry run, and the API (`import { deploy } from 'ship-deploy'`) type-checked against the
 * shipped declarations and deploying the project's local stage for real.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo, ROOT, type FixtureRepo } from '../helpers/repo.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** Runs a program in the app with a plain environment (CI set, as on a runner). */
function inApp(app: string, cmd: string, args: string[], timeout = 120_000) {
  const r = spawnSync(cmd, args, {
    cwd: app,
    encoding: 'utf8',
    timeout,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', CI: 'true', LANG: 'C.UTF-8' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

describe('the npm package', () => {
  let work: string;
  let app: string;
  let tarball: string;
  let files: string[];
  let repo: FixtureRepo;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ship-package-'));
    // the build ran before the tests (npm test): pack what it made, without building again
    const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' })) as {
      filename: string;
      files: { path: string }[];
    }[];
    tarball = join(work, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path).sort();

    repo = fixtureRepo({ withApp: false });
    app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'shop', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
    writeFileSync(
      join(app, 'deploy.yaml'),
      `app: shop
repo: ${repo.dir}
strategy: upload
tasks:
  restart: test -f REVISION
health:
  command: test -f REVISION
stages:
  local:
    hosts: [{ host: localhost, local: true, deploy_to: ./.ship/local }]
`,
    );
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('builds an executable bin: a clone that ran npm run build after npm install still runs npx --no ship', () => {
    expect(statSync(join(ROOT, 'dist', 'bin', 'main.js')).mode & 0o111).toBe(0o111);
  });

  it('holds what runs (the bundle, its declarations, recipes, templates, the schema) and no tsc output', () => {
    expect(files).toContain('dist/bin/main.js');
    expect(files).toContain('dist/bin/api.js');
    expect(files).toContain('dist/types/api.d.ts');
    expect(files).toContain('templates/deploy.schema.json');
    expect(files).toContain('templates/deploy.yaml.tmpl');
    expect(files).toContain('recipes/node.yaml');
    // tsc's per-module output is what the bundle was made from: it would be shipped twice
    expect(files.filter((f) => f.startsWith('dist/') && !f.startsWith('dist/bin/') && !f.startsWith('dist/types/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    // the example app and the example config are for a clone of ship, not for an app
    expect(files.filter((f) => f.startsWith('templates/example-app/') || f === 'deploy.example.yaml')).toEqual([]);
  });

  it('installs into a fresh project as a dev dependency, from the npm cache', () => {
    const r = inApp(app, 'npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], 300_000);
    expect(r.code, r.all).toBe(0);
    const written = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
    expect(Object.keys(written.devDependencies ?? {})).toEqual(['ship-deploy']);
    expect(readlinkSync(join(app, 'node_modules', '.bin', 'ship'))).toBe('../ship-deploy/dist/bin/main.js');
  }, 300_000);

  it("runs the app's own copy: npx --no ship --version and a dry run", () => {
    // npx takes --version for itself before the command's first word: -- ends its own options
    const version = inApp(app, 'npx', ['--no', '--', 'ship', '--version']);
    expect(version.code, version.all).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
    const plan = inApp(app, 'npx', ['--no', 'ship', 'deploy', 'local', '--dry-run']);
    expect(plan.code, plan.all).toBe(0);
    expect(plan.stdout).toContain('dry run: deploy shop to stage local');
    expect(plan.stdout).toContain(repo.head());
  });

  it('gives an API whose types check and whose deploy and rollback run, with typed events', () => {
    writeFileSync(
      join(app, 'ship-api.ts'),
      `import { deploy, loadConfig, rollback, type DeployResult, type ShipEvent } from 'ship-deploy';

const events: ShipEvent[] = [];
const stage = await loadConfig({ stage: 'local' });
const first: DeployResult = await deploy(stage, { onEvent: (e) => events.push(e) });
const second = await deploy('local', { onEvent: (e) => events.push(e) });
const back = await rollback(stage, { onEvent: (e) => events.push(e) });
const ends = events.flatMap((e) => (e.event === 'deploy:end' || e.event === 'rollback:end' ? [\`\${e.event} \${e.ok} \${e.exitCode}\`] : []));
console.log(JSON.stringify({ app: stage.app, first: first.release, second: second.release, back: back.release, ends, kinds: [...new Set(events.map((e) => e.event))] }));
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      // a Node project has Node's types (@types/node): here, the ones ship itself is built with
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          outDir: 'out',
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          types: ['node'],
        },
      }),
    );
    // type-checked against the shipped declarations, and emitted as the JavaScript that runs
    const tsc = inApp(app, process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], 300_000);
    expect(tsc.code, tsc.all).toBe(0);
    const run = inApp(app, process.execPath, ['out/ship-api.js']);
    expect(run.code, run.all).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      app: string;
      first: string;
      second: string;
      back: string;
      ends: string[];
      kinds: string[];
    };
    expect(out.app).toBe('shop');
    expect(out.second > out.first).toBe(true);
    expect(out.back).toBe(out.first);
    expect(out.ends).toEqual(['deploy:end true 0', 'deploy:end true 0', 'rollback:end true 0']);
    expect(out.kinds).toEqual(expect.arrayContaining(['deploy:start', 'task:start', 'task:end', 'publish', 'health', 'rollback:start']));
    expect(readlinkSync(join(app, '.ship', 'local', 'current'))).toContain(out.first);
  }, 300_000);
});
