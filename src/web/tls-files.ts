/**
 * The web server's certificate and key (EF_WEBUI_TLS_*): read at start, and looked at again every
 * CHECK_MS; when either file changed (modification time or size) both are read and the server's
 * context replaced, so a renewed certificate (certbot, an ACME client, a CA's rotation) is served
 * without a restart. A pair that does not load (a key written after its certificate, a cut file)
 * keeps the one in use and is tried again at the next look.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Server as HttpsServer } from 'node:https';
import { log } from '../log/logger.js';
import { fileStamp } from '../enrich/user-file.js';
import { checkPair, type TlsPair } from '../config/validate.js';

export const CHECK_MS = 10 * 60_000;

/** What the certificate in use says: its subject and issuer, and when the chain it came with ends. */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** End of validity (epoch ms) of the certificate, or of the chain's certificate that ends first. */
  notAfter: number;
  /** Subject of the chain's certificate that ends first when it is not the server's own (an intermediate CA); null when it is. */
  endsFirst: string | null;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const oneLine = (dn: string): string => dn.replace(/\n/g, ', ');

/**
 * The file's certificates, the server's first and then the chain it sends (RFC 8446 4.4.2): a browser
 * refuses the server once any of them has ended, so the earliest end is the one to renew before.
 */
function factsOf(file: Buffer): CertificateFacts {
  const leaf = new X509Certificate(file);
  const facts: CertificateFacts = { subject: oneLine(leaf.subject), issuer: oneLine(leaf.issuer), notAfter: Date.parse(leaf.validTo), endsFirst: null };
  const blocks = file.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  for (const block of blocks.slice(1)) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(block);
    } catch {
      continue; // A damaged chain certificate is the TLS handshake's to refuse, not a date to read.
    }
    const end = Date.parse(x.validTo);
    if (end < facts.notAfter) {
      facts.notAfter = end;
      facts.endsFirst = oneLine(x.subject);
    }
  }
  return facts;
}

export class TlsFiles {
  private stamp = '';
  /** Why the last look failed (null: the files in use are current). */
  error: string | null = null;
  loadedAt: number | null = null;
  /** The certificate in use (null before the first load). */
  certificate: CertificateFacts | null = null;

  constructor(readonly certPath: string, readonly keyPath: string) {}

  private async stamps(): Promise<string> {
    return `${await fileStamp(this.certPath)}|${await fileStamp(this.keyPath)}`;
  }

  /** Both files as they are now (start-up: a failure stops it). */
  async load(): Promise<TlsPair> {
    const stamp = await this.stamps();
    const pair = { cert: await readFile(this.certPath), key: await readFile(this.keyPath) };
    this.stamp = stamp;
    this.loadedAt = Date.now();
    try {
      this.certificate = factsOf(pair.cert);
    } catch {
      // Not a certificate: start() says so (checkPair) and stops.
    }
    return pair;
  }

  /** Replaces `server`'s certificate and key when either file changed; true when it did. */
  async check(server: HttpsServer): Promise<boolean> {
    try {
      const stamp = await this.stamps();
      if (stamp === this.stamp) {
        this.error = null;
        return false;
      }
      const pair = { cert: await readFile(this.certPath), key: await readFile(this.keyPath) };
      checkPair(pair);
      // Throws on text that is not PEM, or a key of the certificate's type that is not its.
      server.setSecureContext(pair);
      this.stamp = stamp;
      this.loadedAt = Date.now();
      this.certificate = factsOf(pair.cert);
      this.error = null;
      log.info(`web UI: serving the certificate in ${this.certPath} anew (the file changed)`);
      return true;
    } catch (err) {
      this.error = (err as Error).message.split('\n')[0]!;
      log.warn(`web UI: keeping the certificate in use: ${this.certPath} and ${this.keyPath} did not load (${this.error}); tried again in ${CHECK_MS / 60_000} minutes`);
      return false;
    }
  }
}
