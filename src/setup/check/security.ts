/**
 * The security items of `ship check` that are asked of the host: whether its sshd lets anyone
 * log in with a password, and whether Debian/Ubuntu security updates are waiting. Probes are
 * command values; parsing and verdicts are pure.
 */
import { posix } from 'node:path';
import { raw, type Command } from '../../shell/command.js';
import { lines, sh } from '../../shell/sh.js';
import type { Judged } from './judge.js';

export const DEFAULT_SSHD_CONFIG = '/etc/ssh/sshd_config';

/**
 * `sshd -T` prints the settings sshd really uses, but needs root on most systems (it loads the
 * host keys): tried as is, then with `sudo -n`; else the config file is printed with its
 * `Include`s expanded in place (relative ones are under /etc/ssh, as sshd reads them).
 */
export function sshdProbe(configFile: string): Command {
  const keys = "grep -iE '^(passwordauthentication|kbdinteractiveauthentication|usepam) '";
  return lines(
    sh`__s=$(command -v sshd || ls /usr/sbin/sshd 2>/dev/null)`,
    sh`if [ -n "$__s" ] && __o=$("$__s" -T -f ${configFile} 2>/dev/null); then echo 'source sshd -T'; printf '%s\\n' "$__o" | ${raw(keys)}; exit 0; fi`,
    sh`if [ -n "$__s" ] && command -v sudo >/dev/null 2>&1 && __o=$(sudo -n "$__s" -T -f ${configFile} 2>/dev/null); then echo 'source sudo sshd -T'; printf '%s\\n' "$__o" | ${raw(keys)}; exit 0; fi`,
    sh`if [ ! -r ${configFile} ]; then printf 'unreadable %s\\n' ${configFile}; exit 0; fi`,
    sh`printf 'source %s\\n' ${configFile}`,
    sh`while IFS= read -r __l || [ -n "$__l" ]; do case "$__l" in [Ii]nclude[[:space:]]*) (cd /etc/ssh && for __f in \${__l#*[[:space:]]}; do [ -r "$__f" ] && sed 's/^/line /' -- "$__f"; done) ;; *) printf 'line %s\\n' "$__l" ;; esac; done < ${configFile}`,
    sh`exit 0`,
  );
}

export interface SshdFacts {
  /** `sshd -T`, `sudo sshd -T`, or the config file read. */
  source?: string;
  unreadable?: string;
  settings: Record<string, string>;
}

/**
 * `sshd -T` output (lowercase keys, one each) or the config file's lines: like sshd, the first
 * value of a key wins, and a `Match` block ends the global settings.
 */
export function parseSshdProbe(out: string): SshdFacts {
  const settings: Record<string, string> = {};
  let source: string | undefined;
  let unreadable: string | undefined;
  let inMatch = false;
  for (const raw of out.split('\n')) {
    if (raw.startsWith('source ')) source = raw.slice(7);
    else if (raw.startsWith('unreadable ')) unreadable = raw.slice(11);
    else {
      const text = (raw.startsWith('line ') ? raw.slice(5) : raw).replace(/#.*/, '').trim();
      const m = /^(\S+)\s*(?:=\s*|\s+)(\S+)/.exec(text);
      if (!m) continue;
      const key = m[1]!.toLowerCase();
      if (key === 'match') inMatch = true;
      if (inMatch || key in settings) continue;
      settings[key] = m[2]!.toLowerCase();
    }
  }
  return { ...(source ? { source } : {}), ...(unreadable ? { unreadable } : {}), settings };
}

/** Password login is off when PasswordAuthentication is no and keyboard-interactive cannot reach PAM's password prompt. */
export function judgeSshd(f: SshdFacts): Judged {
  if (!f.source) return { status: 'warn', detail: `cannot tell: sshd -T needs root here and ${f.unreadable ?? 'the sshd config'} is not readable` };
  const from = f.source.includes('sshd -T') ? `from ${f.source}` : `from ${f.source} (sshd -T needs root here)`;
  const password = f.settings.passwordauthentication ?? 'yes';
  const kbd = f.settings.kbdinteractiveauthentication ?? f.settings.challengeresponseauthentication ?? 'yes';
  const pam = f.settings.usepam ?? 'no';
  if (password !== 'no') {
    const how = f.settings.passwordauthentication ? 'PasswordAuthentication yes' : 'PasswordAuthentication is not set (the default is yes)';
    return { status: 'fail', detail: `password login is allowed: ${how}, ${from}: set PasswordAuthentication no and reload sshd` };
  }
  if (kbd !== 'no' && pam === 'yes') {
    return {
      status: 'fail',
      detail: `password login is allowed through PAM: KbdInteractiveAuthentication yes with UsePAM yes, ${from}: set KbdInteractiveAuthentication no`,
    };
  }
  return { status: 'pass', detail: `password login disabled (PasswordAuthentication no), ${from}` };
}

/**
 * `apt-get -s upgrade`: what an upgrade would install, without root and without changing
 * anything. It costs seconds of CPU, and its answer changes only when the package lists or the
 * installed packages do: the answer is kept in `cache` (in deploy_to's .ship/) until then.
 */
export function updatesProbe(cache: string): Command {
  const fresh = sh`[ -f ${cache} ] && [ -z "$(find /var/lib/apt/lists /var/lib/dpkg/status -maxdepth 0 -newer ${cache} 2>/dev/null)" ]`;
  const simulate = sh`LC_ALL=C apt-get -s -o Debug::NoLocking=1 upgrade 2>/dev/null | grep '^Inst '`;
  return lines(
    sh`command -v apt-get >/dev/null 2>&1 || { echo 'no apt'; exit 0; }`,
    sh`printf 'lists %s\\n' "$(date -r /var/lib/apt/lists +%s 2>/dev/null)"`,
    sh`if ${fresh}; then cat -- ${cache}; elif [ -d ${posix.dirname(cache)} ]; then ${simulate} > ${`${cache}.tmp`}; mv -f -- ${`${cache}.tmp`} ${cache}; cat -- ${cache}; else ${simulate}; fi`,
    sh`exit 0`,
  );
}

export interface UpdateFacts {
  apt: boolean;
  /** When the package lists were last updated (seconds), as far as the host says. */
  listsAt?: number;
  security: string[];
  other: number;
}

/** `Inst pkg [old] (new Debian-Security:12/stable-security [amd64])`: the origin names security updates. */
export function parseUpdates(out: string): UpdateFacts {
  if (out.split('\n').includes('no apt')) return { apt: false, security: [], other: 0 };
  const at = Number(/^lists (\d+)$/m.exec(out)?.[1]);
  const security: string[] = [];
  let other = 0;
  for (const line of out.split('\n')) {
    const m = /^Inst (\S+) .*\((.*)\)/.exec(line);
    if (!m) continue;
    if (/security/i.test(m[2]!)) security.push(m[1]!);
    else other++;
  }
  return { apt: true, ...(Number.isFinite(at) && at > 0 ? { listsAt: at } : {}), security, other };
}

export function judgeUpdates(u: UpdateFacts): Judged {
  if (!u.apt) return { status: 'pass', detail: 'not checked: not a Debian/Ubuntu host (no apt-get)' };
  const lists = u.listsAt ? `, package lists of ${new Date(u.listsAt * 1000).toISOString().slice(0, 10)}` : '';
  if (u.security.length === 0) return { status: 'pass', detail: `no pending security updates (${u.other} other upgrade(s)${lists})` };
  const names = u.security.slice(0, 8).join(', ') + (u.security.length > 8 ? ', ...' : '');
  return { status: 'warn', detail: `${u.security.length} pending security update(s): ${names}${lists}: apt-get update && apt-get upgrade` };
}
