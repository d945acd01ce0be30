/**
 * stdout and stderr that a failed write cannot stop. A reader that goes away (`ship deploy |
 * head -n 3`: EPIPE), a full disk (`> /dev/full`: ENOSPC) or a terminal that hung up (EIO)
 * must not end a deploy half done: the run goes on to its real end (locks released, the fleet
 * on one release), only what it would have printed there is dropped. The deploy log still
 * gets everything, and the exit code is the run's own.
 */

/** What tolerateWriteErrors tells when a stream is given up. */
export type OnOutputLost = (stream: 'stdout' | 'stderr', error: NodeJS.ErrnoException) => void;

/**
 * From the first write error on, `stream` swallows every write (calling its callback, so
 * nobody waits on it). The error is handled here, never thrown at whoever wrote.
 */
export function tolerateWriteErrors(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr', onLost: OnOutputLost): void {
  let lost = false;
  const giveUp = (e: NodeJS.ErrnoException) => {
    if (lost) return;
    lost = true;
    onLost(name, e);
  };
  stream.on('error', giveUp);
  const write = stream.write.bind(stream) as (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
  const swallow = (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
    const callback = typeof encoding === 'function' ? encoding : cb;
    if (lost || stream.destroyed) {
      if (typeof callback === 'function') queueMicrotask(() => (callback as () => void)());
      return true;
    }
    try {
      return write(chunk, encoding, cb);
    } catch (e) {
      giveUp(e as NodeJS.ErrnoException);
      return true;
    }
  };
  stream.write = swallow as typeof stream.write;
}

/**
 * Guards both of this process's output streams. When stdout is lost, a line on stderr says
 * so (when stderr still works), once.
 */
export function guardOutputs(): void {
  const onLost: OnOutputLost = (name, e) => {
    if (name === 'stdout')
      process.stderr.write(
        `ship: stopped writing to stdout (${e.code ?? e.message}); the command runs on to its end (a deploy or rollback log still gets every line)\n`,
      );
  };
  tolerateWriteErrors(process.stdout, 'stdout', onLost);
  tolerateWriteErrors(process.stderr, 'stderr', onLost);
}
