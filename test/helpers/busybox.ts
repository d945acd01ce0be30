import { chmodSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** BusyBox's binary on this machine (Debian's `busybox` package), or undefined. */
export const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));

/**
 * A directory holding one link per BusyBox applet (sh, dd, wget, nc, tar...) and nothing
 * else: as PATH, it makes a host that has only what BusyBox gives, like Alpine.
 * `parent` is where it is made (readable by every user); a temp dir by default.
 */
export function busyboxBin(parent = mkdtempSync(join(tmpdir(), 'ship-busybox-'))): string {
  if (!BUSYBOX) throw new Error('busybox is not installed (apt-get install busybox)');
  chmodSync(parent, 0o755); // a login user's shell lives here
  const dir = join(parent, 'busybox-bin');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) if (!existsSync(join(dir, applet))) symlinkSync(BUSYBOX, join(dir, applet));
  return dir;
}
