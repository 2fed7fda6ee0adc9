/**
 * A minimal self-signed X.509 v3 certificate for an RSA key, signed with
 * sha256WithRSAEncryption: what Google serves at /oauth2/v1/certs and what
 * google-auth-library's verifyIdToken hands to crypto.verify.
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { der } from './asn1';

const OID = {
  sha256WithRsa: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
};
const DAY_MS = 86_400_000;

export interface CertificateOptions {
  commonName: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  notBefore: Date;
  validDays: number;
}

export function selfSignedCertificatePem(options: CertificateOptions): string {
  const signatureAlgorithm = der.sequence(der.oid(OID.sha256WithRsa), der.null());
  const name = der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(options.commonName))));
  const notAfter = new Date(options.notBefore.getTime() + options.validDays * DAY_MS);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // serial numbers must be positive

  const tbsCertificate = der.sequence(
    der.explicit(0, der.smallInteger(2)), // version: v3
    der.unsignedInteger(serial),
    signatureAlgorithm,
    name, // issuer: self-signed
    der.sequence(der.time(options.notBefore), der.time(notAfter)),
    name, // subject
    options.publicKey.export({ type: 'spki', format: 'der' }),
    der.explicit(3, der.sequence(...extensions())),
  );
  const signature = sign('sha256', tbsCertificate, options.privateKey);
  const certificate = der.sequence(tbsCertificate, signatureAlgorithm, der.bitString(signature));
  return toPem(certificate);
}

/** An end-entity signing certificate: not a CA, digital signatures only. */
function extensions(): Buffer[] {
  const critical = der.boolean(true);
  const notCa = der.sequence();
  const digitalSignatureOnly = der.bitString(Buffer.from([0x80]), 7);
  return [
    der.sequence(der.oid(OID.basicConstraints), critical, der.octetString(notCa)),
    der.sequence(der.oid(OID.keyUsage), critical, der.octetString(digitalSignatureOnly)),
  ];
}

function toPem(certificate: Buffer): string {
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
