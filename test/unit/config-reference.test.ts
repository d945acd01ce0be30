import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { REFERENCE_PATH, renderConfigReference, withConfigReference } from '../../src/config/reference.js';
import { configSchema } from '../../src/config/schema.js';

describe('docs/configuration.md', () => {
  test('holds the reference schema.ts generates', async () => {
    const committed = await readFile(REFERENCE_PATH, 'utf8');
    expect(
      committed,
      'docs/configuration.md is out of date with src/config/schema.ts: regenerate it with\n  npm run build && node dist/config/write-schema.js',
    ).toBe(withConfigReference(committed));
  });

  test('lists every top-level key, nested keys by path, defaults and required keys', () => {
    const reference = renderConfigReference();
    for (const key of Object.keys(configSchema.fields)) expect(reference).toContain(`| \`${key}\` |`);
    expect(reference).toContain('| `ssh.known_hosts` | `strict` or `accept-new` or `off` | `strict` |');
    expect(reference).toContain('| `health.timeout` | duration (`500ms`, `10s`, `2m`, `1h`) | `1m` |');
    expect(reference).toMatch(/\| `stages\.<name>\.hosts\[\]\.host` \| [^|]+ \| \*\*required\*\* \|/);
    expect(reference).toContain('| `tasks.<name>.when_changed` |');
    // a stage's keys that mean what the top-level ones mean are listed once, at the top level
    expect(reference).not.toContain('`stages.<name>.app`');
    // a host's own ssh, env and vars are listed (as the top-level shapes)
    expect(reference).toContain('| `stages.<name>.hosts[].ssh` | map (as `ssh`) |');
  });

  test('refuses a page without its marker lines, rather than guessing where the reference goes', () => {
    expect(() => withConfigReference('# Configuration\n')).toThrow(/marker lines/);
  });
});
