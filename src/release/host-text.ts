/**
 * Text a host supplied (a lock's reason and owner, history fields, command output) as it may
 * reach a screen: control characters other than tab and newline are dropped, so nothing a
 * host holds can clear another operator's screen, move the cursor or rewrite a line.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

/** A field that is one line by nature (a table cell, a lock's reason): printable, newlines made spaces, so it cannot forge a line. */
export function oneLine(text: string): string {
  return printable(text.replace(/[\r\n]+/g, ' '));
}
