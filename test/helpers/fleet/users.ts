/**
 * The SSH login user of the fleet: as root a dedicated unprivileged user, so deploys run as on
 * a real server; otherwise the current user.
 */
import { appendFileSync, chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { run, runOk } from './processes.js';

export const LOGIN_USER = 'shipe2e';

export interface LoginUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function lookupPasswd(name: string): LoginUser | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) {
      return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? `/home/${name}` };
    }
  }
  return undefined;
}

async function createUser(name: string): Promise<LoginUser> {
  const r = await run('useradd', ['-m', '-s', '/bin/sh', name]);
  // 9: created meanwhile by another process; fine.
  if (r.code !== 0 && r.code !== 9) throw new Error(`useradd ${name} failed: ${r.stderr.trim()}`);
  const user = lookupPasswd(name);
  if (!user) throw new Error(`user ${name} missing after useradd`);
  return user;
}

/**
 * useradd leaves the account locked ('!'), and sshd refuses locked accounts even for a valid
 * key. '*' means "no password login" without locking.
 */
async function unlock(name: string): Promise<void> {
  const shadow = readFileSync('/etc/shadow', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (shadow?.split(':')[1] !== '*') await runOk('usermod', ['-p', '*', name]);
}

/**
 * Deploy directories are created by the login user, but tests may prepare repositories as
 * root: without `safe.directory` git stops with "dubious ownership".
 */
function trustEveryRepository(user: LoginUser): void {
  const gitconfig = join(user.home, '.gitconfig');
  const current = existsSync(gitconfig) ? readFileSync(gitconfig, 'utf8') : '';
  if (!/^\s*directory\s*=\s*\*\s*$/m.test(current)) {
    appendFileSync(gitconfig, '[safe]\n\tdirectory = *\n');
    chownSync(gitconfig, user.uid, user.gid);
  }
}

let loginUserReady: Promise<LoginUser> | undefined;

/** Root mode: creates (once per process) the login user, able to log in by key only. */
export function ensureLoginUser(): Promise<LoginUser> {
  loginUserReady ??= (async () => {
    const user = lookupPasswd(LOGIN_USER) ?? (await createUser(LOGIN_USER));
    await unlock(LOGIN_USER);
    mkdirSync(user.home, { recursive: true });
    chownSync(user.home, user.uid, user.gid);
    trustEveryRepository(user);
    return user;
  })();
  // A failed attempt must not poison every later fleet.
  loginUserReady.catch(() => (loginUserReady = undefined));
  return loginUserReady;
}

export function currentUser(): LoginUser {
  const u = userInfo();
  return { name: u.username, uid: u.uid, gid: u.gid, home: u.homedir };
}
