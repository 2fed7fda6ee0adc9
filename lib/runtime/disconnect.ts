/** Wiring of `POST /disconnect`. */
import { Disconnect } from '../disconnect';
import { OfflineJobCleanup } from '../jobs/cleanup';
import { driveClientFactory } from '../jobs/drive';
import { composition } from './composition';
import { jobStateStore, userStore } from './aws';
import { revocationQueue } from './revocation-queue';
import { tokenCipher } from './cipher';
import { googleServices } from './google';
import { idTokenVerifier, prepareIdTokens } from './id-tokens';

export const disconnectFunction = composition({
  prepare() {
    userStore();
    tokenCipher();
    revocationQueue();
    prepareIdTokens();
  },
  async build() {
    const google = await googleServices();
    return new Disconnect({
      store: userStore(),
      cipher: tokenCipher(),
      oauth: google.oauth,
      idTokens: await idTokenVerifier(),
      revocations: revocationQueue(),
      jobCleanup: new OfflineJobCleanup({
        states: jobStateStore(),
        oauth: google.oauth,
        driveFor: driveClientFactory(google.config.emulatorHost ? { rootUrl: google.endpoints.apiRootUrl } : {}),
      }),
    });
  },
});
