/**
 * A self-signed X.509 certificate for a signing key, signed with sha256WithRSAEncryption:
 * what Google serves at /oauth2/v1/certs (kid → certificate PEM). Built by `selfsigned`
 * (on @peculiar/x509) rather than by hand-written ASN.1.
 */
import type { KeyObject } from 'node:crypto';
import { generate } from 'selfsigned';

const DAY_MS = 86_400_000;

export interface CertificateOptions {
  commonName: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  notBefore: Date;
  validDays: number;
}

export async function selfSignedCertificatePem(options: CertificateOptions): Promise<string> {
  const { cert } = await generate([{ name: 'commonName', value: options.commonName }], {
    keyPair: {
      privateKey: options.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: options.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
    algorithm: 'sha256',
    notBeforeDate: options.notBefore,
    notAfterDate: new Date(options.notBefore.getTime() + options.validDays * DAY_MS),
  });
  return cert;
}
