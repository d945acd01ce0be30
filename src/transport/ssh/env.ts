import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { wildcardMatch } from './known-hosts.js';
import type { SshTargetEnv } from './config.js';

/**
 * What buildSshTarget needs from this machine: home, user name, ~/.ssh/config, the agent
 * socket and SHIP_KNOWN_HOSTS. Read once per run by the entry point and passed down.
 */
export function readSshTargetEnv(env: NodeJS.ProcessEnv = process.env): SshTargetEnv {
  const home = homedir();
  let sshConfigText: string | undefined;
  try {
    sshConfigText = readFileSync(join(home, '.ssh', 'config'), 'utf8');
  } catch {
    sshConfigText = undefined; // no ~/.ssh/config: defaults apply
  }
  return {
    homedir: home,
    username: localUsername(env),
    ...(sshConfigText !== undefined ? { sshConfigText } : {}),
    ...(env.SSH_AUTH_SOCK ? { SSH_AUTH_SOCK: env.SSH_AUTH_SOCK } : {}),
    ...(env.SHIP_KNOWN_HOSTS ? { SHIP_KNOWN_HOSTS: env.SHIP_KNOWN_HOSTS } : {}),
    fileExists: (p) => existsSync(p),
    readInclude,
  };
}

/**
 * The files an ~/.ssh/config `Include` names: `*` and `?` in the file name part are
 * expanded, sorted as glob(3) does; unreadable or missing files are skipped, as ssh does.
 */
export function readInclude(pattern: string): { path: string; text: string }[] {
  const dir = dirname(pattern);
  const name = basename(pattern);
  let paths: string[];
  if (/[*?]/.test(name)) {
    try {
      paths = readdirSync(dir)
        .filter((f) => !f.startsWith('.') && wildcardMatch(f, name))
        .sort()
        .map((f) => join(dir, f));
    } catch {
      paths = [];
    }
  } else {
    paths = [pattern];
  }
  return paths.flatMap((p) => {
    try {
      return [{ path: p, text: readFileSync(p, 'utf8') }];
    } catch {
      return []; // a directory, unreadable or gone
    }
  });
}

/** Like ssh: the passwd entry of this process's user; the environment only as a fallback. */
function localUsername(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER || env.LOGNAME || 'root';
  }
}
