import { stat } from 'node:fs/promises';

/**
 * What a run reads from one file for every host (the identity key, known_hosts), read and
 * parsed once: 50 hosts would otherwise read and parse the same key 50 times. A file that
 * changes meanwhile (accept-new appends to known_hosts) is read again: the entry is keyed by
 * the file's identity, size and modification time. A missing file is not cached.
 */
export function fileCache<T>(read: (file: string) => Promise<T>): (file: string) => Promise<T> {
  const cache = new Map<string, { stamp: string; value: Promise<T> }>();
  return async (file) => {
    let stamp: string;
    try {
      const s = await stat(file);
      stamp = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return read(file); // missing or unreadable: the reader says what is wrong
    }
    const hit = cache.get(file);
    if (hit && hit.stamp === stamp) return hit.value;
    const value = read(file);
    cache.set(file, { stamp, value });
    value.catch(() => cache.delete(file));
    return value;
  };
}
