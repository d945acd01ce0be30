import type { Readable } from 'node:stream';

/**
 * How commands reach a host. Two implementations: local (execa) and SSH (ssh2).
 * A transport is connected once and reused for every command of a run.
 */

export type OutputStream = 'stdout' | 'stderr';

export interface ExecOptions {
  /** Called with raw output as it arrives; line splitting happens above the transport. */
  onData?: (stream: OutputStream, chunk: Buffer) => void;
  /** Aborting kills the remote command (best effort) and rejects with an AbortError. */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number; // 255 when the connection dropped, 128+N when killed by signal N
  stdout: string;
  stderr: string;
}

export interface HttpResponse {
  status: number;
  body: string;
  /** Response headers by lower-case name; repeated headers joined with ", ". */
  headers?: Record<string, string>;
}

export interface Transport {
  /** Display name of the host (as in deploy.yaml). */
  readonly host: string;
  /**
   * The address ship connects to (ssh_config's HostName, else the name itself; 127.0.0.1 for
   * this machine): what `{{address}}` holds, a name the host can reach itself on where the
   * deploy.yaml name is an alias only this machine knows.
   */
  readonly address?: string;
  connect(): Promise<void>;
  /**
   * Runs a POSIX sh script. The script travels on the shell's standard input, never in a
   * process's argv, so secrets exported in it stay out of `ps` on both machines. The whole
   * script is read before any of it runs, so commands in it see an empty stdin.
   */
  runScript(script: string, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Runs a fixed command line (it WILL be visible in a process list: nothing secret) with
   * `input` streamed to its standard input. Used to upload archives.
   */
  runWithInput(command: string, input: Readable | Buffer, opts?: ExecOptions): Promise<ExecResult>;
  /** An HTTP GET made from the host itself (SSH: through the connection, forwardOut). */
  httpGet(url: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<HttpResponse>;
  /** Opens a TCP connection from the host itself to host:port and closes it. */
  tcpProbe(host: string, port: number, opts: { timeoutMs: number }): Promise<void>;
  /**
   * Runs `command` attached to this terminal, for `ship ssh`: over SSH on a pseudo-terminal
   * sized like the local one (raw keys, resized with it) when stdin is a terminal; locally
   * with the terminal inherited. Resolves with the command's exit code. Optional: a transport
   * without it cannot open shells.
   */
  shell?(command: string, terminal: Terminal): Promise<number>;
  close(): Promise<void>;
}

/** The local end of an interactive session. */
export interface Terminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Where and how to reach one SSH host, fully resolved (config, ~/.ssh/config, defaults). */
export interface SshTarget {
  name: string; // display name (as in deploy.yaml)
  hostname: string; // what to connect to
  port: number;
  user: string;
  identityFiles: string[]; // tried in order after the agent when none is explicit
  explicitIdentity: boolean; // identity came from deploy.yaml: use it only
  agent?: string; // SSH_AUTH_SOCK
  knownHosts: 'strict' | 'accept-new' | 'off';
  knownHostsFiles: string[]; // read for verification; the first is written by accept-new
  jump?: SshTarget;
  /** Changes to the SSH library's algorithm lists (OpenSSH syntax), per kind, and where each was set. */
  algorithms?: Partial<Record<'kex' | 'hostKey' | 'cipher' | 'mac', { spec: string; from: 'deploy.yaml' | '~/.ssh/config' }>>;
  connectTimeoutMs: number;
  keepaliveMs: number;
}
