import { describe, expect, test } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../src/config/units.js';

describe('parseDuration', () => {
  test.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1_500],
    [' 10s ', 10_000],
    ['0', 0],
    [0, 0],
  ])('%j is %i ms', (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, value: ms });
  });

  test.each([
    [10, 'a duration needs a unit (ms, s, m, h or d), got 10: write "10s" or "10ms"'],
    ['10', 'a duration needs a unit (ms, s, m, h or d), got "10": write "10s" or "10ms"'],
    ['10 sec', 'expected a duration such as "500ms", "10s", "2m" or "1h", got "10 sec"'],
    ['-5s', 'expected a duration such as "500ms", "10s", "2m" or "1h", got "-5s"'],
    ['10S', 'expected a duration such as "500ms", "10s", "2m" or "1h", got "10S"'],
    ['1w', 'expected a duration such as "500ms", "10s", "2m" or "1h", got "1w"'],
    ['', 'expected a duration such as "500ms", "10s", "2m" or "1h", got ""'],
    [-1, 'a duration needs a unit (ms, s, m, h or d), got -1: write "-1s" or "-1ms"'],
  ])('%j is refused', (input, error) => {
    expect(parseDuration(input)).toEqual({ ok: false, error });
  });

  test.each([
    [0, '0ms'],
    [500, '500ms'],
    [1_500, '1500ms'],
    [10_000, '10s'],
    [90_000, '90s'],
    [120_000, '2m'],
    [3_600_000, '1h'],
    [8 * 86_400_000, '8d'],
  ])('formatDuration(%i) is %s and parses back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });
});

describe('parseSize', () => {
  test.each([
    ['123', 123],
    [123, 123],
    [0, 0],
    ['10KB', 10 * 1024],
    ['500MB', 500 * 1024 ** 2],
    ['1GB', 1024 ** 3],
    ['1gb', 1024 ** 3],
    ['1 GB', 1024 ** 3],
    ['1GiB', 1024 ** 3],
    ['1G', 1024 ** 3],
    ['1TB', 1024 ** 4],
    ['1.5GB', 1.5 * 1024 ** 3],
    ['100B', 100],
  ])('%j is %i bytes', (input, bytes) => {
    expect(parseSize(input)).toEqual({ ok: true, value: bytes });
  });

  test.each([
    ['1PB', 'expected a size such as "500MB" or "1GB" (units B, KB, MB, GB, TB), got "1PB"'],
    ['lots', 'expected a size such as "500MB" or "1GB" (units B, KB, MB, GB, TB), got "lots"'],
    ['-1GB', 'expected a size such as "500MB" or "1GB" (units B, KB, MB, GB, TB), got "-1GB"'],
    [-5, 'expected a size such as "500MB" or "1GB", got -5'],
    [1.5, 'expected a size such as "500MB" or "1GB", got 1.5'],
  ])('%j is refused', (input, error) => {
    expect(parseSize(input)).toEqual({ ok: false, error });
  });

  test.each([
    [0, '0'],
    [123, '123'],
    [1024, '1KB'],
    [1536, '1536'],
    [1024 ** 3, '1GB'],
    [3 * 1024 ** 4, '3TB'],
  ])('formatSize(%i) is %s and parses back', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
    expect(parseSize(text)).toEqual({ ok: true, value: bytes });
  });
});

test('unit names are looked up as own keys only', () => {
  expect(parseSize('1constructor').ok).toBe(false);
  expect(parseSize('1toString').ok).toBe(false);
});
