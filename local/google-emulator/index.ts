/**
 * A Google emulator for local runs and tests: OAuth token/revoke/certs/tokeninfo,
 * Drive v3 (app data folder), RISC, at Google's own paths and in Google's wire formats,
 * with in-memory state per instance and a control API. See emulator.ts for the methods.
 */
import { GoogleEmulator, type GoogleEmulatorOptions } from './emulator';

export { GoogleEmulator } from './emulator';
export type { AuthorizeRequest, GoogleEmulatorOptions, IdTokenRequest, SeedFileRequest, TokenState } from './emulator';
export { clientSecretJson, DEFAULT_LOCAL_CLIENT } from './oauth/clients';
export type { EmulatorClient, PublishingStatus } from './oauth/clients';
export type { RefreshFailureCause } from './oauth/grants';
export { refreshFailureBody } from './oauth/token-endpoint';
export type { FaultKind, FaultSpec } from './faults';
export type { IdTokenOverride } from './oauth/id-token-overrides';
export type { GoogleEndpoint, RequestLogEntry } from './request-log';
export type { ServiceAccountKey } from './oauth/service-accounts';
export type { SecurityEventRequest } from './risc/security-events';
export { EVENT_TYPES, RISC_ISSUER } from './risc/security-events';
export type { RiscStreamConfig } from './risc/stream';
export type { DriveFileResource } from './drive/store';
export type { PushDelivery, WatchChannel } from './drive/push';
export { SCOPES } from './oauth/scopes';

export function startGoogleEmulator(options: GoogleEmulatorOptions = {}): Promise<GoogleEmulator> {
  return GoogleEmulator.start(options);
}
