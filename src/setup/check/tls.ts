/**
 * Reads a server's TLS certificate from this machine, as the app's users will meet it: the
 * chain is verified against Node's CA store (plus NODE_EXTRA_CA_CERTS) and the name against
 * the URL's host. The connection is made even when verification fails, so an untrusted or
 * expired certificate is still measured rather than only refused.
 */
import { isIP } from 'node:net';
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import type { CertificateFacts } from './judge.js';

export async function readCertificate(url: string, timeoutMs: number): Promise<CertificateFacts> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 443);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) });
    const done = (e?: Error, facts?: CertificateFacts) => {
      socket.destroy();
      if (e) reject(e);
      else resolve(facts!);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`)));
    socket.once('error', (e) => done(new Error(`${host}:${port}: ${e.message}`)));
    socket.once('secureConnect', () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      if (!cert?.valid_to) return done(new Error(`${host}:${port} sent no certificate`));
      const nameError = checkServerIdentity(host, cert);
      const chainError = socket.authorized ? undefined : String(socket.authorizationError ?? 'not authorized');
      const untrusted = chainError ?? nameError?.message;
      done(undefined, {
        validTo: new Date(cert.valid_to),
        ...(untrusted ? { untrusted } : {}),
        ...(cert.subject?.CN ? { subject: String(cert.subject.CN) } : {}),
      });
    });
  });
}
