/**
 * Capistrano on the bench fleet (opt-in, BENCH_CAPISTRANO=1): the Debian package, and a
 * project deploying a repository to every fleet host with the usual settings. `tasks` adds
 * Ruby to deploy.rb (the real-app bench runs `npm ci` in each release there).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function capAvailable() {
  return spawnSync('cap', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Installs the Debian package when missing (root only, never in CI); returns why not, or undefined. */
export function ensureCapistrano({ isRoot, log }) {
  if (!isRoot) return 'Capistrano needs the root-mode fleet (one deploy_to for every host): not root';
  if (process.env.CI) return 'not installing Capistrano in CI';
  if (capAvailable()) return undefined;
  log('installing the Debian package capistrano (BENCH_CAPISTRANO=1)...');
  const apt = (...args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  let r = apt('install', '-y', '--no-install-recommends', 'capistrano');
  if (r.status !== 0) {
    apt('update');
    r = apt('install', '-y', '--no-install-recommends', 'capistrano');
  }
  return r.status === 0 && capAvailable() ? undefined : 'apt-get install capistrano failed';
}

/** A Capistrano project in a new directory under `scratch`; deploy with `cap bench deploy` there. */
export function capProject(fleet, repo, { scratch, deployTo, tasks = [] }) {
  const dir = mkdtempSync(join(scratch, 'cap-'));
  mkdirSync(join(dir, 'config', 'deploy'), { recursive: true });
  writeFileSync(
    join(dir, 'Capfile'),
    ['require "capistrano/setup"', 'require "capistrano/deploy"', 'require "capistrano/scm/git"', 'install_plugin Capistrano::SCM::Git', ''].join('\n'),
  );
  writeFileSync(
    join(dir, 'config', 'deploy.rb'),
    [
      'lock "~> 3.17"',
      'set :application, "bench"',
      `set :repo_url, ${JSON.stringify(repo.dir)}`,
      'set :branch, "main"',
      `set :deploy_to, ${JSON.stringify(deployTo)}`,
      'set :keep_releases, 5',
      'append :linked_dirs, "log", "storage"',
      `set :format_options, log_file: ${JSON.stringify(join(dir, 'capistrano.log'))}`,
      'set :ssh_options, {',
      `  user: ${JSON.stringify(fleet.user)},`,
      `  keys: [${JSON.stringify(fleet.identityFile)}],`,
      '  keys_only: true,',
      '  auth_methods: %w[publickey],',
      `  user_known_hosts_file: ${JSON.stringify(fleet.knownHostsFile)},`,
      '  global_known_hosts_file: "/dev/null",',
      '  verify_host_key: :always,',
      '  config: false,',
      '  non_interactive: true,',
      '  timeout: 20,',
      '}',
      ...tasks,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'config', 'deploy', 'bench.rb'),
    `${fleet.hosts.map((h) => `server ${JSON.stringify(h.address)}, port: ${h.port}, roles: %w[web app]`).join('\n')}\n`,
  );
  return dir;
}
