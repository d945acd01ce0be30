/** Why an SSH connection could not be established. */
export type SshConnectErrorKind = 'timeout' | 'refused' | 'auth' | 'hostkey' | 'key' | 'other';

/**
 * A connection to a host failed before any command ran. The message is written for the
 * operator (it names `user@host:port` and says what to do); `kind` is for code.
 */
export class SshConnectError extends Error {
  override readonly name = 'SshConnectError';
  readonly host: string;
  readonly kind: SshConnectErrorKind;

  constructor(host: string, kind: SshConnectErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.host = host;
    this.kind = kind;
  }
}
