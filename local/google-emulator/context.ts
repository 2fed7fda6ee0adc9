/** The state one emulator instance owns, shared by its route modules. */
import type { EmulatorClock } from './clock';
import type { PushChannels } from './drive/push';
import type { DriveStore } from './drive/store';
import type { IssuedSecrets } from './issued-secrets';
import type { ClientRegistry } from './oauth/clients';
import type { GrantStore } from './oauth/grants';
import type { ServiceAccountRegistry } from './oauth/service-accounts';
import type { RiscStreams } from './risc/stream';
import type { SigningKeyRing } from './signing-keys';

export interface EmulatorContext {
  readonly clock: EmulatorClock;
  readonly clients: ClientRegistry;
  readonly grants: GrantStore;
  readonly keys: SigningKeyRing;
  readonly serviceAccounts: ServiceAccountRegistry;
  readonly drive: DriveStore;
  /** Drive push channels (`changes.watch`) and the notifications sent on them. */
  readonly push: PushChannels;
  readonly risc: RiscStreams;
  readonly issued: IssuedSecrets;
  readonly certsMaxAgeSeconds: number;
  /** `http://127.0.0.1:PORT`, known once the server listens. */
  baseUrl(): string;
}
