import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
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
  };
}

/** Like ssh: the passwd entry of this process's user; the environment only as a fallback. */
function localUsername(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER || env.LOGNAME || 'root';
  }
}
