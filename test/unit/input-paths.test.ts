/**
 * Paths in deploy.yaml that could reach outside what ship owns: deploy_to that normalises to
 * "/", shared paths with ".." segments. One rule each, applied at validation (exit 2, with
 * line:col), and the same rule where the paths are used.
 */
import { describe, expect, test } from 'vitest';
import { formatProblem } from '../../src/config/problem.js';
import { validateConfigText } from '../../src/config/validate.js';
import { serverPaths } from '../../src/release/paths.js';
import { linkShared } from '../../src/release/prepare.js';
import { render } from '../../src/shell/render.js';

function problems(text: string, configDir?: string): string[] {
  const result = validateConfigText({ text, file: 'deploy.yaml', ...(configDir ? { configDir } : {}) });
  return result.ok ? [] : result.problems.map(formatProblem);
}
const withStage = (stage: string, top = '') => `app: demo\nrepo: https://example.com/demo.git\n${top}stages:\n  ${stage}\n`;

describe('deploy_to is judged after normalising, on every host', () => {
  test.each(['/..', '/srv/../', '/./', '/srv/..//.'])('remote %j is refused as "/"', (value) => {
    expect(problems(withStage(`production:\n    deploy_to: "${value}"\n    hosts: [web1]`))).toEqual([
      `deploy.yaml:5:16 stages.production.deploy_to: deploy_to cannot be "/" (${JSON.stringify(value)} is "/" once normalised)`,
    ]);
  });

  test('a local host whose deploy_to is "/" after normalising is refused, absolute or relative to the config', () => {
    expect(problems(withStage('local:\n    hosts: [{ host: localhost, local: true, deploy_to: /srv/.. }]'))).toEqual([
      'deploy.yaml:5:56 stages.local.hosts.0.deploy_to: deploy_to cannot be "/" ("/srv/.." is "/" once normalised)',
    ]);
    expect(problems(withStage('local:\n    hosts: [{ host: localhost, local: true, deploy_to: ../.. }]'), '/home/dev')).toEqual([
      'deploy.yaml:5:56 stages.local.hosts.0.deploy_to: deploy_to cannot be "/" ("../.." is "/" once normalised)',
    ]);
    expect(problems(withStage('local:\n    hosts: [{ host: localhost, local: true, deploy_to: ../app }]'), '/home/dev')).toEqual([]);
    expect(problems(withStage('production:\n    hosts: [web1]', 'deploy_to: /srv/demo/../app\n'))).toEqual([]);
  });
});

describe('shared paths: ".." segments are refused at validation, and only those', () => {
  const shared = (dirs: string) => withStage('production:\n    hosts: [web1]', `deploy_to: /srv/demo\nshared:\n  dirs: ${dirs}\n`);

  test('names that start with two dots are ordinary names', () => {
    expect(problems(shared('["..cache", "a/..b", "b..", "...", "x/.../y"]'))).toEqual([]);
    const link = linkShared(serverPaths('/srv/demo'), '20260101000000', { dirs: ['..cache', 'a/..b'], files: [] });
    const text = render(link!);
    expect(text).toContain('ln -s -- /srv/demo/shared/..cache /srv/demo/releases/20260101000000/');
    expect(text).toContain('ln -s -- /srv/demo/shared/a/..b /srv/demo/releases/20260101000000/a/');
  });

  test('a ".." segment anywhere is refused with line:col', () => {
    expect(problems(shared('["..", "a/../b", "../x", "a/.."]'))).toEqual([
      'deploy.yaml:5:10 shared.dirs.0: expected a path inside the release (relative, without ".."), got ".."',
      'deploy.yaml:5:16 shared.dirs.1: expected a path inside the release (relative, without ".."), got "a/../b"',
      'deploy.yaml:5:26 shared.dirs.2: expected a path inside the release (relative, without ".."), got "../x"',
      'deploy.yaml:5:34 shared.dirs.3: expected a path inside the release (relative, without ".."), got "a/.."',
    ]);
    expect(() => linkShared(serverPaths('/srv/demo'), '20260101000000', { dirs: ['a/../..'], files: [] })).toThrow(/inside/);
  });
});
