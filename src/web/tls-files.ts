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

/** What the certificate in use says: its subject, issuer and end of validity (epoch ms). */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  notAfter: number;
}

function factsOf(cert: Buffer): CertificateFacts {
  const x = new X509Certificate(cert);
  return { subject: x.subject.replace(/\n/g, ', '), issuer: x.issuer.replace(/\n/g, ', '), notAfter: Date.parse(x.validTo) };
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
