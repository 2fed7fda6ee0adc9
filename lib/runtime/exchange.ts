/** Wiring of `POST /authcode`. */
import { AuthCodeExchange } from '../exchange';
import { composition } from './composition';
import { exchangeLedger, userStore } from './aws';
import { tokenCipher } from './cipher';
import { googleServices, prepareGoogleServices } from './google';

export const exchangeFunction = composition({
  prepare() {
    userStore();
    exchangeLedger();
    tokenCipher();
    prepareGoogleServices();
  },
  async build() {
    const google = await googleServices();
    return new AuthCodeExchange({
      users: userStore(),
      exchanges: exchangeLedger(),
      cipher: tokenCipher(),
      oauth: google.oauth,
      idTokens: google.idTokens,
      requiredScopes: google.config.requiredScopes,
      redirectUri: google.config.redirectUri,
    });
  },
});
