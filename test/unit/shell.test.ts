import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { and, cmd, inDir, or, pipe, raw, redirect, script, seq, when, test as testFlag } from '../../src/shell/command.js';
import { quote } from '../../src/shell/quote.js';
import { render, renderExports } from '../../src/shell/render.js';
import { lines, readFirstLine, sh, shText } from '../../src/shell/sh.js';
import { buildScript, parseMarker } from '../../src/shell/script.js';
import { interpolateShell, interpolateText, placeholders, TemplateError } from '../../src/shell/template.js';

/** What sh really makes of a rendered word: printf each argument on its own line. */
const echoArgs = (rendered: string): string[] =>
  execFileSync('sh', ['-c', `for a in ${rendered}; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' })
    .split('\0')
    .slice(0, -1);

const HOSTILE = [
  "it's",
  'say "hi"',
  '$(touch /tmp/ship-pwned)',
  '`touch /tmp/ship-pwned`',
  'a b  c',
  'line1\nline2',
  '--upload-pack=evil',
  '-rf',
  '$HOME',
  '\\',
  "'",
  '',
  '*',
  '; rm -rf / #',
  'ünïcødé ✓',
];

describe('quote', () => {
  it('leaves plain words alone', () => {
    expect(quote('abc-1.2_3/x:y@z%,+=')).toBe('abc-1.2_3/x:y@z%,+=');
  });
  it.each(HOSTILE)('keeps %j one literal word through sh', (value) => {
    expect(echoArgs(quote(value))).toEqual([value]);
  });
  it('writes single quotes as closing, escaped quote, reopening', () => {
    expect(quote("it's")).toBe(`'it'\\''s'`);
    expect(quote('')).toBe(`''`);
    expect(quote('a b')).toBe(`'a b'`);
    expect(quote('$(id)')).toBe(`'$(id)'`);
  });
});

describe('render', () => {
  it('quotes every argument of a command', () => {
    expect(render(cmd('rm', '-rf', '--', '/srv/my app'))).toBe(`rm -rf -- '/srv/my app'`);
  });
  it('joins with && ; | and groups mixed operators', () => {
    const c = and(cmd('a'), or(cmd('b'), cmd('c')), seq(cmd('d'), cmd('e')));
    expect(render(c)).toBe('a && { b || c; } && { d; e; }');
    expect(render(pipe(cmd('git', 'archive', 'HEAD'), cmd('tar', '-x')))).toBe('git archive HEAD | tar -x');
  });
  it('groups user scripts so their operators stay inside', () => {
    expect(render(and(script('a || b'), cmd('c')))).toBe('{ a || b; } && c');
  });
  it('renders redirections with quoted targets', () => {
    expect(render(redirect(cmd('printf', '%s\\n', 'x'), { op: '>>', target: '/srv/a b/h.jsonl' }))).toBe(`printf '%s\\n' x >>'/srv/a b/h.jsonl'`);
    expect(render(redirect(cmd('cat', 'f'), { op: '2>', target: '/dev/null' }, { op: '>&2' }))).toBe('cat f 2>/dev/null >&2');
  });
  it('renders if/then/else and subshells with cd', () => {
    expect(render(when(testFlag('-d', '/x y'), cmd('a'), cmd('b')))).toBe(`if [ -d '/x y' ]; then a; else b; fi`);
    expect(render(inDir('/srv/r 1', cmd('npm', 'ci')))).toBe(`( cd -- '/srv/r 1' && npm ci )`);
  });
  it('passes Raw arguments through verbatim', () => {
    expect(render(cmd('echo', raw('"$HOME"'), '$HOME'))).toBe(`echo "$HOME" '$HOME'`);
  });
  it('runs hostile arguments as data, never as code', () => {
    for (const v of HOSTILE) {
      const out = execFileSync('sh', ['-c', render(cmd('printf', '%s', v))], { encoding: 'utf8' });
      expect(out).toBe(v);
    }
  });
});

describe('sh`...` and shText`...`', () => {
  it('makes a string one quoted word, whatever it holds', () => {
    expect(shText`rm -rf -- ${"it's"}`).toBe(`rm -rf -- 'it'\\''s'`);
    expect(shText`echo ${'say "hi"'} ${'$HOME'} ${'`id`'} ${'a b'} ${'l1\nl2'} ${''}`).toBe(`echo 'say "hi"' '$HOME' '\`id\`' 'a b' 'l1\nl2' ''`);
    expect(shText`ls -- ${'/srv/app-1.2/x'}`).toBe('ls -- /srv/app-1.2/x');
  });
  it.each(HOSTILE)('keeps %j one literal word through sh', (value) => {
    expect(echoArgs(shText`${value}`)).toEqual([value]);
  });
  it('makes an array one quoted word per item (none for an empty one)', () => {
    expect(shText`rm -- ${['a b', "c'd", 'e', '']}`).toBe(`rm -- 'a b' 'c'\\''d' e ''`);
    expect(echoArgs(shText`${HOSTILE}`)).toEqual(HOSTILE);
    expect(shText`rm -- ${[]}`).toBe('rm -- ');
  });
  it('writes a finite number as its digits and refuses any other', () => {
    expect(shText`exit ${75}; tail -n +${8} ${-1} ${2.5} ${0}`).toBe('exit 75; tail -n +8 -1 2.5 0');
    for (const n of [NaN, Infinity, -Infinity]) expect(() => shText`exit ${n}`).toThrow(/is not a number a shell can take/);
  });
  it('renders a Command in place and passes raw() through verbatim', () => {
    expect(shText`if ${testFlag('-d', '/x y')}; then ${cmd('echo', "it's")}; fi`).toBe(`if [ -d '/x y' ]; then echo 'it'\\''s'; fi`);
    expect(shText`${and(cmd('a'), or(cmd('b'), cmd('c')))} | tee ${'/tmp/a b'}`).toBe(`a && { b || c; } | tee '/tmp/a b'`);
    expect(shText`echo ${raw('"$HOME"')} ${'$HOME'}`).toBe(`echo "$HOME" '$HOME'`);
  });
  it('sh gives a Command that renders as shText writes, grouped like any script', () => {
    expect(render(sh`echo ${'a b'}`)).toBe(shText`echo ${'a b'}`);
    expect(render(and(sh`a || b ${'c'}`, cmd('d')))).toBe('{ a || b c; } && d');
  });
  it('never runs an interpolated value: every payload arrives as data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ship-sh-'));
    const pwned = join(dir, 'pwned');
    const payloads = [
      `$(touch ${pwned})`,
      `\`touch ${pwned}\``,
      `; touch ${pwned}`,
      `' ; touch ${pwned} ; '`,
      `" ; touch ${pwned} ; "`,
      `\ntouch ${pwned}\n`,
      `$(touch ${pwned}) '$(touch ${pwned})'`,
    ];
    for (const payload of payloads) {
      // the payload as an argument, in an array, and in the path of a directory the command makes
      const made = join(dir, payload.replace(/\//g, '_'));
      const out = execFileSync('sh', ['-c', shText`mkdir -- ${made} && printf '%s|' ${payload} ${[payload, payload]} && [ -d ${made} ]`], {
        encoding: 'utf8',
        cwd: dir,
      });
      expect(out).toBe(`${payload}|`.repeat(3));
    }
    expect(existsSync(pwned)).toBe(false);
    expect(readdirSync(dir)).toHaveLength(payloads.length);
  });
});

describe('readFirstLine and lines', () => {
  it('reads the first line of a file into a variable, empty and silent when the file is missing', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ship-read-')), "it's $(x) `y`");
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'first line\nsecond\n');
    const show = (file: string) =>
      execFileSync('sh', ['-c', render(lines(readFirstLine('__v', file), sh`printf '[%s]' "$__v"`))], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(show(join(dir, 'f'))).toBe('[first line]');
    expect(show(join(dir, 'missing'))).toBe('[]');
  });
  it("is the shell's own read, the file quoted", () => {
    expect(render(readFirstLine('__v', '/a b/f'))).toBe(`__v=; { IFS= read -r __v < '/a b/f'; } 2>/dev/null`);
    expect(() => readFirstLine('x; rm -rf /', '/f')).toThrow(/not a shell variable name/);
  });
  it('writes commands one per line', () => {
    expect(render(lines(cmd('a', 'b c'), sh`if ${testFlag('-e', '/x')}; then d; fi`, and(cmd('e'), cmd('f'))))).toBe(
      `a 'b c'\nif [ -e /x ]; then d; fi\ne && f`,
    );
  });
});

describe('renderExports', () => {
  it('exports quoted values', () => {
    expect(renderExports({ A: "x'y", B: 'plain' })).toBe(`export A='x'\\''y'\nexport B=plain`);
  });
  it('refuses names that are not identifiers', () => {
    expect(() => renderExports({ 'A;rm -rf /': 'x' })).toThrow(/invalid environment variable name/);
  });
});

describe('interpolateShell', () => {
  const values = { release: '20261122021500', branch: 'feat/$(id)', path: "/srv/it's here", dash: '-rf', nl: 'a\nb', tick: '`id`' };
  it('fills each placeholder with one quoted word', () => {
    expect(interpolateShell('echo {{release}} {{ branch }}', values)).toBe(`echo 20261122021500 'feat/$(id)'`);
  });
  it('keeps hostile values literal when the command runs', () => {
    const t = 'printf "%s|" {{branch}} {{path}} {{dash}} {{nl}} {{tick}}';
    const out = execFileSync('sh', ['-c', interpolateShell(t, values)], { encoding: 'utf8' });
    expect(out).toBe(`feat/$(id)|/srv/it's here|-rf|a\nb|\`id\`|`);
  });
  it('names unknown placeholders and the known ones', () => {
    expect(() => interpolateShell('echo {{relase}}', values)).toThrow(TemplateError);
    expect(() => interpolateShell('echo {{relase}}', values)).toThrow(/unknown placeholder \{\{relase\}\} \(known: branch, dash, nl, path, release, tick\)/);
  });
  it('leaves non-identifier braces alone', () => {
    expect(interpolateShell('echo {{ 1 }} ${X}', values)).toBe('echo {{ 1 }} ${X}');
    expect(placeholders('{{a}} {{b}} {{a}}')).toEqual(['a', 'b']);
  });
  it('fills URLs without quoting', () => {
    expect(interpolateText('http://{{host}}:3000/health', { host: 'web1' })).toBe('http://web1:3000/health');
  });
});

describe('buildScript', () => {
  it('runs steps in order, stops at the first failure and reports markers', () => {
    const s = buildScript(
      [
        { label: 'one', command: cmd('echo', 'first') },
        { label: 'two', command: script('echo second; exit 7') },
        { label: 'three', command: cmd('echo', 'never') },
      ],
      { nonce: 'n0nce', env: { GREETING: "it's me" } },
    );
    let out = '';
    let code = 0;
    try {
      out = execFileSync('sh', ['-c', 'eval "$(cat)"'], { input: s, encoding: 'utf8' });
    } catch (e) {
      out = (e as { stdout: string }).stdout;
      code = (e as { status: number }).status;
    }
    expect(code).toBe(7);
    const markers = out
      .split('\n')
      .map((l) => parseMarker(l, 'n0nce').marker)
      .filter(Boolean);
    expect(markers).toEqual([
      { type: 'start', step: 0 },
      { type: 'end', step: 0, exitCode: 0 },
      { type: 'start', step: 1 },
      { type: 'end', step: 1, exitCode: 7 },
    ]);
    expect(out).toContain('first');
    expect(out).toContain('second');
    expect(out).not.toContain('never');
  });
  it('keeps the text before a marker printed on the same line', () => {
    expect(parseMarker('partial@@ship:abc:end:2:1', 'abc')).toEqual({ text: 'partial', marker: { type: 'end', step: 2, exitCode: 1 } });
    expect(parseMarker('@@ship:other:start:0', 'abc')).toEqual({ text: '@@ship:other:start:0' });
  });
  it('gives commands an empty stdin: a step that reads stdin cannot eat the script', () => {
    const s = buildScript(
      [
        { label: 'read', command: script('cat; echo after') },
        { label: 'next', command: cmd('echo', 'still-here') },
      ],
      { nonce: 'x' },
    );
    const out = execFileSync('sh', ['-c', 'eval "$(cat)"'], { input: s, encoding: 'utf8' });
    expect(out).toContain('after');
    expect(out).toContain('still-here');
  });
});

describe('user scripts inside groups', () => {
  it('closes multi-line and commented text on its own line, so it still runs', () => {
    const multi = and(script('echo one\nif true; then echo two; fi\n'), cmd('echo', 'three'));
    expect(execFileSync('sh', ['-c', render(multi)], { encoding: 'utf8' })).toBe('one\ntwo\nthree\n');
    const commented = and(script('echo a # a comment'), cmd('echo', 'b'));
    expect(execFileSync('sh', ['-c', render(commented)], { encoding: 'utf8' })).toBe('a\nb\n');
    const inSub = inDir('/', script('echo x # trailing'));
    expect(execFileSync('sh', ['-c', render(inSub)], { encoding: 'utf8' })).toBe('x\n');
    expect(render(and(script('echo a;'), cmd('true')))).toBe('{ echo a; } && true');
    // a background job on one line: `{ cmd &; }` would be a syntax error
    const bg = and(script('sleep 0 >/dev/null 2>&1 &'), cmd('echo', 'after'));
    expect(execFileSync('sh', ['-c', render(bg)], { encoding: 'utf8' })).toBe('after\n');
  });
});
