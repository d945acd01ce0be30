/**
 * Escape sequences whole: CSI (`ESC [ 31 m`, or its one-byte form), OSC (`ESC ] 0;title BEL`,
 * its body bounded so an unterminated one costs no more than its bound) and the short `ESC x`
 * forms. Each part's characters are disjoint from the next, so matching stays linear.
 */
const ESCAPE_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]|\u009b[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]{0,512}(?:\u0007|\u001b\\)|\u001b[ -/]*[0-~]/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text a host supplied (a lock's reason and owner, history fields, command output) as it may
 * reach a screen: escape sequences (colours, cursor moves, a window title) are dropped whole,
 * then every other control character but tab and newline, so nothing a host holds can clear
 * another operator's screen, move the cursor or rewrite a line, and coloured output reads as
 * plain text.
 */
export function printable(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '');
}

/** A field that is one line by nature (a table cell, a lock's reason): printable, newlines made spaces, so it cannot forge a line. */
export function oneLine(text: string): string {
  return printable(text.replace(/[\r\n]+/g, ' '));
}
