import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordHostKey } from '../../src/transport/ssh/host-keys.js';

const LINE = '[10.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ6o0mFq3G1Kq5b2cRr8cWb4xZJf0XnKc5o1xYp4JYbC';

describe('accept-new recording a host key', () => {
  it('appends a key once when many connections learn it at the same moment', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ship-kh-')), '.ssh', 'known_hosts');
    const written = await Promise.all(Array.from({ length: 14 }, () => recordHostKey(file, LINE)));
    expect(written.filter(Boolean)).toHaveLength(1);
    expect(readFileSync(file, 'utf8')).toBe(`${LINE}\n`);
  });

  it('leaves a file that already holds the key as it is, and ends a last line without newline first', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ship-kh-')), 'known_hosts');
    writeFileSync(file, `other ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ6o0mFq3G1Kq5b2cRr8cWb4xZJf0XnKc5o1xYp4JYbC`);
    expect(await recordHostKey(file, LINE)).toBe(true);
    expect(await recordHostKey(file, LINE)).toBe(false);
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(3);
  });
});
