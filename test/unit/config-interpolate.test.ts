import { describe, expect, test } from 'vitest';
import { expandEnvTemplate, parseEnvTemplate } from '../../src/config/interpolate.js';

function expand(value: string, env: Record<string, string | undefined>) {
  const parsed = parseEnvTemplate(value);
  if (!parsed.ok) throw new Error(parsed.error);
  return expandEnvTemplate(parsed.parts, env);
}

describe('${NAME} in env values', () => {
  const env = { DB: 'postgres://db', EMPTY: '', USER: 'me' };

  test.each([
    ['plain', 'plain', []],
    ['${DB}', 'postgres://db', ['DB']],
    ['url=${DB}/x?u=${USER}', 'url=postgres://db/x?u=me', ['DB', 'USER']],
    ['${EMPTY}', '', ['EMPTY']],
    ['${MISSING:-fallback}', 'fallback', ['MISSING']],
    ['${EMPTY:-fallback}', 'fallback', ['EMPTY']],
    ['${USER:-fallback}', 'me', ['USER']],
    ['${MISSING:-}', '', ['MISSING']],
    ['$${DB}', '${DB}', []],
    ['$HOME and $ alone', '$HOME and $ alone', []],
    ['cost: $5 {braces}', 'cost: $5 {braces}', []],
  ])('%s → %s', (value, expanded, references) => {
    expect(expand(value, env)).toEqual({ value: expanded, references, missing: [] });
  });

  test('unset variables without a fallback are reported, each time', () => {
    expect(expand('${A}:${B}:${A}', { B: 'b' })).toEqual({ value: ':b:', references: ['A', 'B', 'A'], missing: ['A', 'A'] });
  });

  test.each([
    ['${FOO', 'invalid reference "${FOO": write ${NAME} or ${NAME:-default}, or $${ for a literal "${"'],
    ['x ${} y', 'invalid reference "${}": write ${NAME} or ${NAME:-default}, or $${ for a literal "${"'],
    ['${1X}', 'invalid reference "${1X}": write ${NAME} or ${NAME:-default}, or $${ for a literal "${"'],
    ['${A-B}', 'invalid reference "${A-B}": write ${NAME} or ${NAME:-default}, or $${ for a literal "${"'],
  ])('%s is refused', (value, error) => {
    expect(parseEnvTemplate(value)).toEqual({ ok: false, error });
  });
});
