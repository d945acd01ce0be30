import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { httpGetScript, tcpProbeScript } from '../../src/transport/ssh/fallback.js';
import { SCRIPT_RUNNER } from '../../src/transport/ssh/index.js';
import { shellLoop } from '../../src/transport/ssh/session.js';

/**
 * The shell the SSH transport writes itself, built with sh`...`: the exact text sent to a host
 * (the same bytes as before sh`...` built it), and values that cannot break out of their word.
 */

describe('the transport scripts, byte for byte', () => {
  it('the session loop', () => {
    expect(shellLoop('0123456789abcdef')).toBe(
      "sh -c 'printf '\\''\\036@@ship-ready:0123456789abcdef\\n'\\''; printf '\\''\\036@@ship-ready:0123456789abcdef\\n'\\'' >&2; exec 3<&0; if dd if=/dev/null of=/dev/null iflag=fullblock 2>/dev/null; then __ship_fb=1; else __ship_fb=; fi; if command -v setsid >/dev/null 2>&1 && [ \"$(command -v printf)\" = printf ]; then __ship_pg=1; else __ship_pg=; fi; while IFS= read -r __ship_n; do if [ -n \"$__ship_fb\" ]; then __ship_s=$(dd bs=\"$__ship_n\" count=1 iflag=fullblock 2>/dev/null); else __ship_s=$(dd bs=1 count=\"$__ship_n\" 2>/dev/null); fi; if [ -n \"$__ship_pg\" ]; then printf '\\''%s'\\'' \"$__ship_s\" | setsid sh -c '\\''eval \"$(cat)\"'\\'' 3<&- & else (eval \"$__ship_s\") </dev/null 3<&- & fi; __ship_p=$!; (IFS= read -r __ship_c; if [ \"$__ship_c\" = stop ]; then if [ -n \"$__ship_pg\" ]; then kill -TERM -$__ship_p; (sleep 5; kill -KILL -$__ship_p) >/dev/null 2>&1 & else kill -TERM 0; fi; fi) <&3 >/dev/null 2>&1 & __ship_w=$!; wait $__ship_p; __ship_rc=$?; kill $__ship_w 2>/dev/null; wait $__ship_w 2>/dev/null; printf '\\''\\036@@ship-done:0123456789abcdef:%s\\n'\\'' \"$__ship_rc\"; printf '\\''\\036@@ship-done:0123456789abcdef\\n'\\'' >&2; done'",
    );
  });

  it('the HTTP GET fallback, with the client the host has', () => {
    expect(httpGetScript("http://127.0.0.1:8080/q?a='$HOME'&b=\"`", 2500, { http: 'wget-gnu', timeout: false })).toBe(
      'url=\'http://127.0.0.1:8080/q?a=\'\\\'\'$HOME\'\\\'\'&b="`\'\nt=$(mktemp) || exit 1\ntrap \'rm -f "$t" "$t.h"\' EXIT\nwget -q -S --content-on-error -T 3 -O "$t" -- "$url" 2>"$t.h"\ncode=$(sed -n \'s/^ *HTTP\\/[0-9.]* \\([0-9][0-9][0-9]\\).*/\\1/p\' "$t.h" | tail -n 1)\nif [ -z "$code" ]; then cat "$t.h" >&2; exit 1; fi\nprintf \'ship-http-status: %s\\n\' "$code"\ntr -d \'\\r\' < "$t.h" | sed -n \'s/^ *\\([A-Za-z0-9_-]*\\): *\\(.*\\)$/ship-http-header: \\1: \\2/p\'\nprintf \'%s\\n\' ship-http-body\nhead -c 65536 "$t"\n',
    );
    expect(httpGetScript('https://example.com/', 60000, { http: 'curl', timeout: true })).toBe(
      'url=https://example.com/\nt=$(mktemp) || exit 1\ntrap \'rm -f "$t" "$t.h"\' EXIT\ncode=$(curl -sS -o "$t" -D "$t.h" -w \'%{http_code}\' --max-time 60 -H \'Connection: close\' -- "$url") || exit $?\nprintf \'ship-http-status: %s\\n\' "$code"\ntr -d \'\\r\' < "$t.h" | sed -n \'s/^ *\\([A-Za-z0-9_-]*\\): *\\(.*\\)$/ship-http-header: \\1: \\2/p\'\nprintf \'%s\\n\' ship-http-body\nhead -c 65536 "$t"\n',
    );
    expect(httpGetScript('http://127.0.0.1:8080/', 2500, { http: 'wget-busybox', timeout: true })).toBe(
      'url=http://127.0.0.1:8080/\nt=$(mktemp) || exit 1\ntrap \'rm -f "$t" "$t.h"\' EXIT\ntimeout 3 wget -q -S -O "$t" "$url" 2>"$t.h"\ncode=$(sed -n \'s/^ *HTTP\\/[0-9.]* \\([0-9][0-9][0-9]\\).*/\\1/p\' "$t.h" | tail -n 1)\nif [ -z "$code" ]; then cat "$t.h" >&2; exit 1; fi\nprintf \'ship-http-status: %s\\n\' "$code"\ntr -d \'\\r\' < "$t.h" | sed -n \'s/^ *\\([A-Za-z0-9_-]*\\): *\\(.*\\)$/ship-http-header: \\1: \\2/p\'\nprintf \'%s\\n\' ship-http-body\nhead -c 65536 "$t"\n',
    );
  });

  it('the TCP probe fallback and the script runner', () => {
    expect(tcpProbeScript("host'name", 3000, 1500, { tcp: 'nc-z', timeout: false })).toBe("h='host'\\''name'; p=3000\nexec nc -z -w 2 \"$h\" \"$p\"\n");
    expect(tcpProbeScript('h', 3000, 1500, { tcp: 'nc', timeout: false })).toBe('h=h; p=3000\nexec nc -w 2 "$h" "$p" </dev/null >/dev/null\n');
    expect(SCRIPT_RUNNER).toBe('sh -c \'eval "$(cat)"\'');
  });
});

describe('values stay one word', () => {
  const nasty = `a'b"c $HOME \`id\` $(id) ;x\ny`;
  /** Runs the script's assignments (all before `next`) and prints one variable. */
  const assigned = (script: string, next: string, name: string): string =>
    execFileSync('sh', ['-c', `${script.slice(0, script.indexOf(next))}\nprintf %s "$${name}"`], { encoding: 'utf8' });

  it('a URL and a host name with quotes, $, backticks and newlines', () => {
    expect(assigned(httpGetScript(nasty, 1000, { http: 'curl', timeout: true }), '\nt=$(mktemp)', 'url')).toBe(nasty);
    expect(assigned(tcpProbeScript(nasty, 80, 1000, { tcp: 'nc-z', timeout: true }), '\nexec nc', 'h')).toBe(nasty);
  });

  it('a session loop with any nonce is still one sh -c word that parses', () => {
    const loop = shellLoop(nasty);
    expect(loop.startsWith("sh -c '")).toBe(true);
    // the outer sh takes the quoted loop apart; the inner one (-n) only parses it
    expect(() => execFileSync('sh', ['-c', loop.replace(/^sh -c /, 'sh -n -c ')], { stdio: 'pipe' })).not.toThrow();
  });
});
