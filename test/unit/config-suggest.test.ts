import { describe, expect, test } from 'vitest';
import { closest, didYouMean, editDistance, knownAndClosest } from '../../src/config/suggest.js';

describe('editDistance', () => {
  test.each([
    ['', '', 0],
    ['abc', 'abc', 0],
    ['keep_release', 'keep_releases', 1],
    ['stratgey', 'strategy', 1], // a swap of neighbours costs one
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closest', () => {
  const keys = ['app', 'repo', 'deploy_to', 'keep_releases', 'strategy', 'stages', 'ssh'];
  test.each([
    ['keep_release', 'keep_releases'],
    ['deployto', 'deploy_to'],
    ['Strategy', 'strategy'],
    ['stage', 'stages'],
    ['keep', 'keep_releases'], // a prefix
    ['sh', 'ssh'],
    ['zzz', undefined],
    ['ap', 'app'],
    ['db', undefined], // short words get at most one edit
  ])('%s → %s', (word, match) => {
    expect(closest(word, keys)).toBe(match);
  });

  test('prefers the nearest, then the first given', () => {
    expect(closest('prod', ['production', 'prod2', 'pro'])).toBe('prod2');
    expect(closest('prod', ['production', 'staging'])).toBe('production');
  });

  test('didYouMean and knownAndClosest wording', () => {
    expect(didYouMean('usr', ['user', 'port'])).toBe(' (did you mean "user"?)');
    expect(didYouMean('xyz', ['user', 'port'])).toBe('');
    expect(knownAndClosest('prod', ['production', 'local'], 'known stages')).toBe(' (known stages: local, production; did you mean "production"?)');
    expect(knownAndClosest('qa', ['production', 'local'], 'known stages')).toBe(' (known stages: local, production)');
    expect(knownAndClosest('qa', [], 'known stages')).toBe('');
  });
});
