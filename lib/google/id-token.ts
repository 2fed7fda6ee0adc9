/**
 * Google ID token verification: signature (Google's PEM certificates), issuer, audience
 * (the server client ID; an `aud` array must hold only trusted clients), expiry and
 * issue time with bounded skew, and `azp` against the allowed app client IDs, which
 * google-auth-library does not check.
 */
import { GOOGLE_ISSUERS } from '../config';
import { InvalidIdTokenError } from '../errors';
import { JwtError, verifyRs256, type RemoteKeySet } from './jwt';

export interface IdTokenClaims {
  sub: string;
  aud: string;
  azp?: string;
  iss: string;
  iat: number;
  exp: number;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  locale?: string;
  at_hash?: string;
}

export interface IdTokenPolicy {
  /** The server client ID: the `aud` every ID token must carry. */
  audience: string;
  /** App client IDs accepted as `azp`; empty means any `azp` (or the audience itself). */
  allowedAzp: readonly string[];
  maxSkewSeconds?: number;
  now?: () => number;
}

export class IdTokenVerifier {
  constructor(
    private readonly keys: RemoteKeySet,
    private readonly policy: IdTokenPolicy,
  ) {}

  /** @throws InvalidIdTokenError (401) — or UpstreamUnavailableError (503) when Google's keys are unreachable. */
  async verify(idToken: string): Promise<IdTokenClaims> {
    let payload: Record<string, unknown>;
    try {
      payload = (await verifyRs256(idToken, this.keys)).payload;
    } catch (error) {
      if (error instanceof JwtError) throw new InvalidIdTokenError(`ID token rejected: ${error.message}`);
      throw error;
    }
    const { audience, allowedAzp } = this.policy;
    const skew = this.policy.maxSkewSeconds ?? 300;
    const now = Math.floor((this.policy.now ?? Date.now)() / 1000);
    const reject = (why: string): never => {
      throw new InvalidIdTokenError(`ID token rejected: ${why}`);
    };

    if (typeof payload.iss !== 'string' || !GOOGLE_ISSUERS.includes(payload.iss)) reject('issuer is not Google');
    const aud = payload.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(audience)) reject('audience is not this server');
    if (audiences.some((entry) => entry !== audience && !allowedAzp.includes(entry as string))) {
      reject('audience includes an untrusted client');
    }
    if (typeof payload.exp !== 'number' || payload.exp + skew < now) reject('token has expired');
    if (typeof payload.iat !== 'number' || payload.iat - skew > now) reject('token is issued in the future');
    if (typeof payload.sub !== 'string' || !payload.sub) reject('token has no subject');
    const azp = payload.azp;
    if (allowedAzp.length && azp !== undefined && azp !== audience && !allowedAzp.includes(azp as string)) {
      reject('authorized party is not an allowed client');
    }
    return { ...(payload as unknown as IdTokenClaims), aud: audience };
  }
}
