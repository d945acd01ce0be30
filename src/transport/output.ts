import { StringDecoder } from 'node:string_decoder';

/**
 * Command output as it streams in, in bounded memory and linear time whatever a command
 * prints (a gigabyte of log, a megabyte line without a newline): bytes are decoded with one
 * decoder per stream (a character split across two reads stays one character, so a secret
 * that contains it is still found and redacted), each byte is scanned once, a line longer
 * than MAX_LINE is cut, and only a bounded tail of a stream is ever kept.
 */

/** Longest line passed on whole, in characters; the rest of a longer line is counted, not kept. */
export const MAX_LINE = 64 * 1024;

/** Splits a byte stream into lines (without `\n` or a trailing `\r`), each at most `max` characters plus a note. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private cut = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly max = MAX_LINE,
  ) {}

  /** A chunk of the stream: its whole lines go out now, the start of the next one waits. */
  push(chunk: Buffer): void {
    this.text(this.decoder.write(chunk));
  }

  /** The stream is over: a last line without its newline is still a line. */
  end(): void {
    this.append(this.decoder.end());
    if (this.partial || this.cut) this.emit();
  }

  /** Characters held while a line waits for its newline: never more than `max`. */
  get retained(): number {
    return this.partial.length;
  }

  private text(s: string): void {
    let start = 0;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
      this.append(s.slice(start, nl));
      this.emit();
      start = nl + 1;
    }
    this.append(s.slice(start));
  }

  private append(s: string): void {
    const room = this.max - this.partial.length;
    if (s.length <= room) this.partial += s;
    else {
      this.partial += s.slice(0, room);
      this.cut += s.length - room;
    }
  }

  private emit(): void {
    let line = this.partial.endsWith('\r') ? this.partial.slice(0, -1) : this.partial;
    if (this.cut) line += ` [ship: ${this.cut} more characters of this line not shown]`;
    this.partial = '';
    this.cut = 0;
    this.onLine(line);
  }
}

/** The last `max` characters of a text that keeps growing (amortised: each character is copied a bounded number of times). */
export class TailText {
  private text = '';
  private dropped = false;

  constructor(private readonly max: number) {}

  append(s: string): void {
    this.text += s;
    if (this.text.length > 2 * this.max) {
      this.text = this.text.slice(-this.max);
      this.dropped = true;
    }
  }

  /** The tail; when earlier text was dropped, it starts at a line boundary where there is one. */
  toString(): string {
    if (!this.dropped && this.text.length <= this.max) return this.text;
    const tail = this.text.slice(-this.max);
    const nl = tail.indexOf('\n');
    return nl >= 0 && nl < tail.length - 1 ? tail.slice(nl + 1) : tail;
  }

  get length(): number {
    return this.text.length;
  }
}

/** Bytes to text with one decoder, keeping the last `max` characters: a transport's ExecResult stdout or stderr. */
export class StreamTail {
  private readonly decoder = new StringDecoder('utf8');
  private readonly tail: TailText;

  constructor(max = 64 * 1024) {
    this.tail = new TailText(max);
  }

  push(chunk: Buffer): void {
    this.tail.append(this.decoder.write(chunk));
  }

  toString(): string {
    this.tail.append(this.decoder.end());
    return this.tail.toString();
  }
}
