/** OAuth clients the emulator knows, and the `client_secret_*.json` the API Console downloads. */

/** The OAuth consent screen's publishing status: in `testing`, refresh tokens die after 7 days. */
export type PublishingStatus = 'production' | 'testing';

export interface EmulatorClient {
  clientId: string;
  clientSecret: string;
  /** Redirect URIs codes may be issued for; default `['', 'postmessage']` (Android, web popup). */
  redirectUris?: string[];
  /** Default `production`. */
  publishingStatus?: PublishingStatus;
}

export type RegisteredClient = Required<EmulatorClient>;

const DEFAULT_REDIRECT_URIS = ['', 'postmessage'];

/** Always registered, so `npm start` works with no Google project at all. */
export const DEFAULT_LOCAL_CLIENT: EmulatorClient = Object.freeze({
  clientId: 'local-server-client.apps.googleusercontent.com',
  clientSecret: 'local-emulator-client-secret',
  redirectUris: Object.freeze([...DEFAULT_REDIRECT_URIS]) as string[],
});

/**
 * The console's download format. URLs are Google's own: code using the file reaches the
 * emulator through GOOGLE_EMULATOR_HOST, exactly as it would reach Google without it.
 */
export function clientSecretJson(client: EmulatorClient): string {
  return JSON.stringify({
    web: {
      client_id: client.clientId,
      project_id: 'local-emulator',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris ?? DEFAULT_REDIRECT_URIS,
    },
  });
}

export class ClientRegistry {
  private readonly clients = new Map<string, RegisteredClient>();

  register(client: EmulatorClient): void {
    if (!client.clientId || !client.clientSecret) throw new RangeError('clientId and clientSecret are required');
    this.clients.set(client.clientId, {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      redirectUris: [...(client.redirectUris ?? DEFAULT_REDIRECT_URIS)],
      publishingStatus: client.publishingStatus ?? 'production',
    });
  }

  setPublishingStatus(clientId: string, status: PublishingStatus): void {
    const client = this.clients.get(clientId);
    if (!client) throw new RangeError(`unknown client ${clientId}`);
    if (status !== 'production' && status !== 'testing') throw new RangeError('status must be production or testing');
    client.publishingStatus = status;
  }

  get(clientId: string): RegisteredClient | undefined {
    return this.clients.get(clientId);
  }
}
