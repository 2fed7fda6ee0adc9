/** Wiring of `GET /connection`: read-only, so no KMS key and no queue. */
import { ConnectionStatusQuery } from '../connection';
import { composition } from './composition';
import { userStore } from './aws';
import { googleServices, prepareGoogleServices } from './google';

export const connectionFunction = composition({
  prepare() {
    userStore();
    prepareGoogleServices();
  },
  async build() {
    const google = await googleServices();
    return new ConnectionStatusQuery({
      users: userStore(),
      idTokens: google.idTokens,
      requiredScopes: google.config.requiredScopes,
    });
  },
});
