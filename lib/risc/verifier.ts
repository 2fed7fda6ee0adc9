/**
 * Security Event Token (RFC 8417) verification for Google's RISC pushes: RS256 with a key
 * from the JWKS that the RISC configuration names, `iss` the RISC issuer, `aud` one of our
 * client IDs, `jti` and `iat` present. `exp` is deliberately not checked: these tokens
 * describe past events and Google redelivers them for days.
 */
import { AppError } from '../errors';
import { JwtError, verifyRs256, type RemoteKeySet } from '../google/jwt';

export interface SecurityEventToken {
  jti: string;
  iss: string;
  /** The audience entry that matched one of our client IDs. */
  aud: string;
  /** Issue time, epoch seconds. */
  iat: number;
  /** Event type URI → event payload. */
  events: Record<string, unknown>;
}

/** A security event token failed verification (400 `invalid_token`; nothing is changed). */
export class InvalidSecurityEventError extends AppError {
  override readonly name = 'InvalidSecurityEventError';
  constructor(message: string) {
    super('invalid_token', message);
  }
}

export interface SecurityEventPolicy {
  /** Our client IDs: the server's and the apps'. */
  audiences: readonly string[];
  issuer: string;
}

export class SecurityEventTokenVerifier {
  constructor(
    private readonly keys: RemoteKeySet,
    private readonly policy: SecurityEventPolicy,
  ) {}

  /**
   * @throws InvalidSecurityEventError (400) for a bad signature, unknown `kid`, wrong `iss`
   * or `aud`, or missing claims; UpstreamUnavailableError (503) when the keys cannot be fetched.
   */
  async verify(token: string): Promise<SecurityEventToken> {
    let payload: Record<string, unknown>;
    try {
      payload = (await verifyRs256(token, this.keys)).payload;
    } catch (error) {
      if (error instanceof JwtError)
        throw new InvalidSecurityEventError(`Security event token rejected: ${error.message}`);
      throw error;
    }
    const reject = (why: string): never => {
      throw new InvalidSecurityEventError(`Security event token rejected: ${why}`);
    };
    if (payload.iss !== this.policy.issuer) reject('issuer is not the RISC issuer');
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const aud = audiences.find(
      (entry): entry is string => typeof entry === 'string' && this.policy.audiences.includes(entry),
    );
    if (aud === undefined) reject('audience is not one of our client IDs');
    if (typeof payload.jti !== 'string' || !payload.jti) reject('token has no jti');
    if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) reject('token has no iat');
    const events = payload.events;
    if (typeof events !== 'object' || events === null || Array.isArray(events) || !Object.keys(events).length) {
      reject('token carries no events');
    }
    return {
      jti: payload.jti as string,
      iss: this.policy.issuer,
      aud: aud as string,
      iat: payload.iat as number,
      events: events as Record<string, unknown>,
    };
  }
}
