/**
 * Service accounts the emulator trusts: it creates their keys (the JSON the console
 * downloads) and checks the signed assertions of the JWT-bearer grant (RFC 7523).
 */
import { randomBytes, randomInt, type KeyObject } from 'node:crypto';
import { decodeJwt, hasValidRs256Signature } from '../jwt';
import { generateRsaKeyPair } from '../signing-keys';

export interface ServiceAccountKey {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  /** PKCS#8 PEM. */
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

interface ServiceAccount {
  email: string;
  clientId: string;
  /** The OAuth client of the account's project: the `aud` of security events for its stream. */
  projectClientId: string;
  publicKey: KeyObject;
}

export type AssertionCheck =
  { ok: true; email: string; clientId: string; scopes: string[] } | { ok: false; error: string; description: string };

/** Google only accepts assertions valid for at most an hour. */
const MAX_ASSERTION_LIFETIME_S = 3600;
const CLOCK_SKEW_S = 300;
const PROJECT_ID = 'local-emulator';

export class ServiceAccountRegistry {
  private readonly accounts = new Map<string, ServiceAccount>();

  async create(baseUrl: string, projectClientId: string): Promise<ServiceAccountKey> {
    const { privateKey, publicKey } = await generateRsaKeyPair();
    const email = `emulator-sa-${this.accounts.size + 1}@${PROJECT_ID}.iam.gserviceaccount.com`;
    const clientId = String(randomInt(1e11, 1e12 - 1)) + String(randomInt(1e9, 1e10 - 1));
    this.accounts.set(email, { email, clientId, projectClientId, publicKey });
    return {
      type: 'service_account',
      project_id: PROJECT_ID,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: clientId,
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: `${baseUrl}/token`,
      auth_provider_x509_cert_url: `${baseUrl}/oauth2/v1/certs`,
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
      universe_domain: 'googleapis.com',
    };
  }

  projectClientIdOf(email: string): string | undefined {
    return this.accounts.get(email)?.projectClientId;
  }

  /**
   * Checks an assertion the way Google does. `audiences` lists the token URLs accepted
   * as `aud`: google-auth-library's JWT client always signs for Google's real one.
   */
  checkAssertion(assertion: string, audiences: readonly string[], nowSeconds: number): AssertionCheck {
    const jwt = decodeJwt(assertion);
    const account = typeof jwt?.claims.iss === 'string' ? this.accounts.get(jwt.claims.iss) : undefined;
    if (!jwt || !account) return { ok: false, error: 'invalid_grant', description: 'Invalid grant: account not found' };
    if (!hasValidRs256Signature(jwt, account.publicKey)) {
      return { ok: false, error: 'invalid_grant', description: 'Invalid JWT Signature.' };
    }
    const { aud, iat, exp, scope } = jwt.claims;
    if (typeof aud !== 'string' || !audiences.includes(aud)) {
      return { ok: false, error: 'invalid_grant', description: 'Invalid JWT: Failed audience check.' };
    }
    const timely =
      typeof iat === 'number' &&
      typeof exp === 'number' &&
      exp - iat <= MAX_ASSERTION_LIFETIME_S &&
      iat <= nowSeconds + CLOCK_SKEW_S &&
      exp > nowSeconds - CLOCK_SKEW_S;
    if (!timely) {
      return {
        ok: false,
        error: 'invalid_grant',
        description:
          'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      };
    }
    const scopes = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
    if (scopes.length === 0) {
      return { ok: false, error: 'invalid_scope', description: 'Invalid OAuth scope or ID token audience provided.' };
    }
    return { ok: true, email: account.email, clientId: account.clientId, scopes };
  }
}
