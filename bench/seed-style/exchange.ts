/**
 * The baseline a team following the seed document naively would ship: all of `googleapis`
 * imported at module scope, google-auth-library and both AWS clients beside it, a new
 * OAuth2 client per request (so `verifyIdToken` fetches and re-parses the PEM certificates
 * every time), and one KMS data key per refresh token. Benchmarks only: never deployed.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { OAuth2Client } from 'google-auth-library';
// The whole package on purpose: this file is the baseline that shows what that import costs.
// eslint-disable-next-line no-restricted-imports
import { google } from 'googleapis';

const dynamo = new DynamoDBClient({});
const kms = new KMSClient({});
// Touched at load, as a seed-style handler that calls Drive later in the same module would.
const drive = google.drive('v3');

interface ApiEvent {
  body?: string;
}

function googleUrls(): { token: string; certs: string } {
  const host = process.env.GOOGLE_EMULATOR_HOST;
  return host
    ? { token: `http://${host}/token`, certs: `http://${host}/oauth2/v1/certs` }
    : { token: 'https://oauth2.googleapis.com/token', certs: 'https://www.googleapis.com/oauth2/v1/certs' };
}

export async function handler(event: ApiEvent): Promise<{ statusCode: number; body: string }> {
  const secret = JSON.parse(readFileSync(process.env.GOOGLE_CLIENT_SECRET_FILE!, 'utf8')) as {
    web: { client_id: string; client_secret: string };
  };
  const { authCode } = JSON.parse(event.body ?? '{}') as { authCode: string };
  const urls = googleUrls();
  const client: OAuth2Client = new google.auth.OAuth2({
    clientId: secret.web.client_id,
    clientSecret: secret.web.client_secret,
    redirectUri: '',
    endpoints: { oauth2TokenUrl: urls.token, oauth2FederatedSignonPemCertsUrl: urls.certs },
  });
  const { tokens } = await client.getToken(authCode);
  const ticket = await client.verifyIdToken({ idToken: tokens.id_token!, audience: secret.web.client_id });
  const payload = ticket.getPayload()!;
  const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: process.env.KMS_KEY_ID, KeySpec: 'AES_256' }));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey.Plaintext!, iv);
  const sealed = Buffer.concat([
    iv,
    cipher.update(tokens.refresh_token ?? '', 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  await dynamo.send(
    new PutItemCommand({
      TableName: process.env.TABLE_NAME,
      Item: {
        pk: { S: `seed#${payload.sub}` },
        email: { S: payload.email ?? '' },
        refreshToken: { B: sealed },
        dataKey: { B: dataKey.CiphertextBlob! },
      },
    }),
  );
  return {
    statusCode: 200,
    body: JSON.stringify({ userId: payload.sub, email: payload.email, drive: drive.context === undefined }),
  };
}
