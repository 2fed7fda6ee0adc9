/** Wiring of `POST /authcode`. */
import { AuthCodeExchange } from '../exchange';
import { composition } from './composition';
import { exchangeLedger, userStore } from './aws';
import { tokenCipher } from './cipher';
import { googleServices } from './google';
import { idTokenVerifier, prepareIdTokens } from './id-tokens';

export const exchangeFunction = composition({
  prepare() {
    userStore();
    exchangeLedger();
    tokenCipher();
    prepareIdTokens();
  },
  async build() {
    const google = await googleServices();
    return new AuthCodeExchange({
      users: userStore(),
      exchanges: exchangeLedger(),
      cipher: tokenCipher(),
      oauth: google.oauth,
      idTokens: await idTokenVerifier(),
      requiredScopes: google.config.requiredScopes,
      redirectUri: google.config.redirectUri,
    });
  },
});
