/** The Google gateway port: what the domain asks of Google's OAuth endpoints. */

export interface GoogleTokens {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** Scopes the user actually granted (granular consent may drop some). */
  scopes: string[];
  /** Epoch ms the access token expires. */
  expiresAt?: number;
}

export interface GoogleGateway {
  /**
   * Redeems a one-time server auth code. Never retried: a code is single-use.
   * @throws InvalidGrantError, UpstreamError, UpstreamUnavailableError
   */
  redeemCode(code: string, redirectUri: string): Promise<GoogleTokens>;
  /** Gets a fresh access token with the refresh grant. @throws as `redeemCode` */
  refreshAccessToken(refreshToken: string): Promise<GoogleTokens>;
  /** Revokes a token (either kind ends the grant); an already-dead token counts as revoked. */
  revoke(token: string): Promise<void>;
}
