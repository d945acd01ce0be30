import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { shText } from '../shell/sh.js';
import { TailText } from './output.js';

/**
 * How both transports know a script is over without waiting for its output pipes to close (a
 * background process started by a task keeps them open for as long as it lives): after the
 * script, the shell running it prints an end marker with the exit code on stdout and one on
 * stderr, so both streams are known complete.
 *
 * The end marker starts with the ASCII record separator, not a newline: it is found anywhere
 * in the stream, so the script's output is passed on exactly as written (no newline added,
 * none held back), and only a byte that output almost never contains is ever held back. The
 * nonce keeps command output from faking a marker.
 */
export const MARK = '\x1e';
const DONE = '@@ship-done:';

/** What a script's ExecResult keeps of each stream (its tail: error messages come from it). */
const RESULT_TAIL = 64 * 1024;

export const newNonce = (): string => randomBytes(8).toString('hex');

/** The marker as it arrives: stdout's is followed by `:<exit code>\n`, stderr's by `\n`. */
export function endMarker(nonce: string, stream: 'stdout' | 'stderr'): string {
  return `${MARK}${DONE}${nonce}${stream === 'stdout' ? ':' : ''}`;
}

/** Shell text printing both markers, the exit code taken from `rc` (a `$variable`). */
export function printEndMarkers(nonce: string, rc: string): string {
  const done = `\\036${DONE}${nonce}`; // printf's octal escape for MARK
  return [shText`printf ${`${done}:%s\\n`}`, ` "${rc}";`, shText` printf ${`${done}\\n`} >&2;`].join('');
}

/** Scans one stream for the end marker without ever handing marker bytes to the caller. */
export class MarkerScanner {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  /** The tail of what was delivered: the ExecResult's text (the lines themselves went to deliver). */
  private readonly collected = new TailText(RESULT_TAIL);

  constructor(
    private readonly marker: string,
    private readonly deliver: (chunk: Buffer) => void,
  ) {}

  /** Returns the text after the marker (the exit code on stdout, '' on stderr) once seen. */
  push(chunk: Buffer): string | undefined {
    this.pending += this.decoder.write(chunk);
    const at = this.pending.indexOf(this.marker);
    if (at >= 0) {
      const nl = this.pending.indexOf('\n', at + this.marker.length);
      if (nl < 0) return undefined; // the rest of the marker line is still on its way
      this.emit(this.pending.slice(0, at));
      const rest = this.pending.slice(at + this.marker.length, nl);
      this.pending = '';
      return rest;
    }
    // keep back only an end that could be the start of a marker split across chunks: all
    // else is delivered now, so output (and step markers) stream live
    let keep = Math.min(this.pending.length, this.marker.length);
    while (keep > 0 && !this.pending.endsWith(this.marker.slice(0, keep))) keep--;
    this.emit(this.pending.slice(0, this.pending.length - keep));
    this.pending = this.pending.slice(this.pending.length - keep);
    return undefined;
  }

  /** Whatever is held back, when the stream ends without a marker. */
  flush(): void {
    this.emit(this.pending + this.decoder.end());
    this.pending = '';
  }

  text(): string {
    return this.collected.toString();
  }

  private emit(s: string): void {
    if (!s) return;
    this.collected.append(s);
    this.deliver(Buffer.from(s, 'utf8'));
  }
}
