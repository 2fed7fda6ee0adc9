/**
 * ID-token verification (ours, jose with each certificate imported once, vs google-auth-library's
 * verifyIdToken, which re-parses the PEM certificate on every call) and envelope encryption
 * (cached data keys vs one KMS data key per token), in this process against in-process emulators.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { OAuth2Client } from 'google-auth-library';
import { kmsCipher } from '../lib/aws/kms-data-keys';
import type { TokenCipher } from '../lib/crypto/envelope';
import { GoogleKeySet, IdTokenVerifier } from '../lib/google/token-verifier';
import { DEFAULT_LOCAL_CLIENT, startGoogleEmulator } from '../local/google-emulator';
import { startKmsEmulator } from '../local/kms-emulator';

async function time(run: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

interface Measured {
  encryptMs: number;
  decryptMs: number;
  encryptRequests: number;
  decryptRequests: number;
}

export async function idTokens(
  n = 2000,
): Promise<{ verifications: number; googleAuthLibraryMs: number; oursMs: number }> {
  const google = await startGoogleEmulator({ port: 0 });
  try {
    const audience = DEFAULT_LOCAL_CLIENT.clientId;
    const idToken = google.signIdToken({ sub: 'bench', aud: audience });
    const library = new OAuth2Client({
      clientId: audience,
      endpoints: { oauth2FederatedSignonPemCertsUrl: `${google.url}/oauth2/v1/certs` },
      // Node's own fetch, as lib/google/oauth.ts (gaxios would lazy-import node-fetch).
      transporterOptions: { fetchImplementation: fetch },
    });
    const ours = new IdTokenVerifier(new GoogleKeySet(`${google.url}/oauth2/v1/certs`, 'pem-certificates'), {
      audience,
      allowedAzp: [],
    });
    await library.verifyIdToken({ idToken, audience });
    await ours.verify(idToken);
    const baseline = await time(async () => {
      for (let i = 0; i < n; i++) await library.verifyIdToken({ idToken, audience });
    });
    const mine = await time(async () => {
      for (let i = 0; i < n; i++) await ours.verify(idToken);
    });
    return { verifications: n, googleAuthLibraryMs: baseline, oursMs: mine };
  } finally {
    await google.close();
  }
}

export async function envelope(n = 1000): Promise<{ tokens: number; uncached: Measured; cached: Measured }> {
  const kms = await startKmsEmulator({ port: 0 });
  try {
    const client = new KMSClient({
      endpoint: kms.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const tokens = Array.from({ length: n }, (_, i) => `1//bench-refresh-token-${i}-${'x'.repeat(80)}`);
    // Encrypt as the exchange does, then decrypt with a fresh cipher as a worker in another execution environment.
    const measure = async (makeCipher: () => TokenCipher): Promise<Measured> => {
      kms.resetCounts();
      const sealed: Buffer[] = [];
      const encryptor = makeCipher();
      const encryptMs = await time(async () => {
        for (const [i, token] of tokens.entries()) sealed.push(await encryptor.encrypt(token, `user-${i}`));
      });
      const encryptRequests = Object.values(kms.requestCounts()).reduce((a, b) => a + b, 0);
      kms.resetCounts();
      const decryptor = makeCipher();
      const decryptMs = await time(async () => {
        for (const [i, blob] of sealed.entries()) await decryptor.decrypt(blob, `user-${i}`);
      });
      const decryptRequests = Object.values(kms.requestCounts()).reduce((a, b) => a + b, 0);
      return { encryptMs, decryptMs, encryptRequests, decryptRequests };
    };
    // Baseline: no reuse — one data key per token, and every unwrap goes to KMS.
    const uncached = await measure(() => kmsCipher(client, keyId, { dataKeyMaxUses: 1, dataKeyMaxAgeMs: 0 }));
    const cached = await measure(() => kmsCipher(client, keyId));
    return { tokens: n, uncached, cached };
  } finally {
    await kms.close();
  }
}
