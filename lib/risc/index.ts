/**
 * Google Cross-Account Protection (RISC): security event token verification and the
 * receiver that acts on `token-revoked`, `tokens-revoked` and `account-disabled`.
 */
import type { GoogleEndpoints } from '../google/endpoints';
import { GoogleKeySet, SecurityEventTokenVerifier } from '../google/token-verifier';
import type { SecurityEventLedger } from '../store/security-event-ledger';
import { RiscConfigurationSource } from './configuration';
import { RiscReceiver, type RiscReceiverDependencies } from './receiver';

export * from './configuration';
export * from './events';
export * from './receiver';
export { InvalidSecurityEventError } from '../errors';
export {
  SecurityEventTokenVerifier,
  type SecurityEventPolicy,
  type SecurityEventToken,
} from '../google/token-verifier';

export interface RiscReceiverSetup {
  store: RiscReceiverDependencies['store'];
  securityEvents: SecurityEventLedger;
  /** Every client ID a SET may be addressed to (`GoogleServices.trustedClientIds`). */
  audiences: readonly string[];
  endpoints: Pick<GoogleEndpoints, 'riscConfigurationUrl'>;
  issuer: string;
  jobCleanup?: RiscReceiverDependencies['jobCleanup'];
}

/** Wires a receiver whose keys come from the JWKS the RISC configuration names (both cached). */
export function createRiscReceiver(setup: RiscReceiverSetup): RiscReceiver {
  const configuration = new RiscConfigurationSource(setup.endpoints.riscConfigurationUrl);
  const keys = new GoogleKeySet(() => configuration.jwksUri(), 'jwks');
  const verifier = new SecurityEventTokenVerifier(keys, { audiences: setup.audiences, issuer: setup.issuer });
  return new RiscReceiver({
    store: setup.store,
    securityEvents: setup.securityEvents,
    verifier,
    ...(setup.jobCleanup ? { jobCleanup: setup.jobCleanup } : {}),
  });
}
