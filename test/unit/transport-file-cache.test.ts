import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileCache } from '../../src/transport/ssh/file-cache.js';

describe('fileCache (a key or known_hosts read once per run, however many hosts)', () => {
  it('reads a file once while it is unchanged, again when it changes, and never caches a missing one', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ship-cache-')), 'known_hosts');
    const reads: string[] = [];
    const read = fileCache(async (f: string) => {
      const text = await readFile(f, 'utf8');
      reads.push(text);
      return text.trim().split('\n').length;
    });
    writeFileSync(file, 'a\n');
    expect(await Promise.all([read(file), read(file), read(file)])).toEqual([1, 1, 1]);
    expect(reads).toHaveLength(1);
    writeFileSync(file, 'a\nb\n'); // accept-new appended a line
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(await read(file)).toBe(2);
    expect(reads).toHaveLength(2);
    rmSync(file);
    await expect(read(file)).rejects.toMatchObject({ code: 'ENOENT' });
    writeFileSync(file, 'c\n');
    expect(await read(file)).toBe(1);
  });
});
