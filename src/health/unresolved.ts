/**
 * A health check is made from the host itself. A URL naming a host it cannot resolve will not
 * start working while the check waits (`{{host}}` is the deploy.yaml name, often an alias only
 * this machine's ssh config knows): that answer ends the check at once, with what to write.
 */

/** How resolvers say "no such name": glibc through OpenSSH, curl and wget, Node, BusyBox. */
const UNRESOLVED =
  /Name or service not known|Temporary failure in name resolution|No address associated with hostname|nodename nor servname|Could not resolve host|unable to resolve host|ENOTFOUND|EAI_AGAIN|bad address/i;

export interface UnresolvedInput {
  /** What the probe failed with. */
  message: string;
  /** The URL (or host:port) as asked, placeholders filled. */
  target: string;
  /** The same as written in deploy.yaml. */
  template: string;
  host: string;
  /** The address ship connects to for this host: `{{address}}`. */
  address: string | undefined;
}

/** The failure with a hint when it says the name does not resolve on the host; else undefined. */
export function unresolvedHint(i: UnresolvedInput): string | undefined {
  if (!UNRESOLVED.test(i.message)) return undefined;
  const name = hostOf(i.target);
  const alias = i.template.includes('{{host}}') ? `; {{host}} is the name in deploy.yaml, which only this machine may know` : '';
  const address = i.address ? ` (${i.address} here)` : '';
  return `${i.message}: ${i.host} cannot resolve ${JSON.stringify(name)} (health checks are made from the host itself${alias}): use ${onLoopback(i.target)} where the app listens on the host's loopback, or {{address}}${address}, the address ship connects to`;
}

function hostOf(target: string): string {
  try {
    return new URL(target).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return target.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  }
}

/** The same target on 127.0.0.1. */
function onLoopback(target: string): string {
  try {
    const url = new URL(target);
    url.hostname = '127.0.0.1';
    return url.toString();
  } catch {
    return target.replace(/^.*(:\d+)$/, '127.0.0.1$1');
  }
}
