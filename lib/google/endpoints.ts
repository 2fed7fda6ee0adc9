/**
 * Google's endpoints, or the emulator's when `GOOGLE_EMULATOR_HOST` is set. Only the
 * endpoints move: issuers and signatures are checked exactly as in production.
 */
export interface GoogleEndpoints {
  tokenUrl: string;
  revokeUrl: string;
  tokenInfoUrl: string;
  pemCertsUrl: string;
  jwkCertsUrl: string;
  /** Root for googleapis clients (Drive): `.../` with a trailing slash. */
  apiRootUrl: string;
  riscConfigurationUrl: string;
  riscApiUrl: string;
}

export function googleEndpoints(emulatorHost?: string): GoogleEndpoints {
  if (emulatorHost) {
    const base = `http://${emulatorHost}`;
    return {
      tokenUrl: `${base}/token`,
      revokeUrl: `${base}/revoke`,
      tokenInfoUrl: `${base}/tokeninfo`,
      pemCertsUrl: `${base}/oauth2/v1/certs`,
      jwkCertsUrl: `${base}/oauth2/v3/certs`,
      apiRootUrl: `${base}/`,
      riscConfigurationUrl: `${base}/.well-known/risc-configuration`,
      riscApiUrl: `${base}/v1beta`,
    };
  }
  return {
    tokenUrl: 'https://oauth2.googleapis.com/token',
    revokeUrl: 'https://oauth2.googleapis.com/revoke',
    tokenInfoUrl: 'https://oauth2.googleapis.com/tokeninfo',
    pemCertsUrl: 'https://www.googleapis.com/oauth2/v1/certs',
    jwkCertsUrl: 'https://www.googleapis.com/oauth2/v3/certs',
    apiRootUrl: 'https://www.googleapis.com/',
    riscConfigurationUrl: 'https://accounts.google.com/.well-known/risc-configuration',
    riscApiUrl: 'https://risc.googleapis.com/v1beta',
  };
}
