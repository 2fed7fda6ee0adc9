/** Wiring of `GET /connection`: read-only, so no KMS key and no queue. */
import { ConnectionStatusQuery } from '../connection';
import { composition } from './composition';
import { userStore } from './aws';
import { googleServices } from './google';
import { idTokenVerifier, prepareIdTokens } from './id-tokens';

export const connectionFunction = composition({
  prepare() {
    userStore();
    prepareIdTokens();
  },
  async build() {
    const google = await googleServices();
    return new ConnectionStatusQuery({
      users: userStore(),
      idTokens: await idTokenVerifier(),
      requiredScopes: google.config.requiredScopes,
    });
  },
});
