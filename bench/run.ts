/**
 * `npm run bench`: speed and memory of the hot paths, each printed as a ratio against a
 * baseline measured in the same run on the same machine (absolute numbers vary; ratios hold).
 *
 * 1. ID token verification: our verifier (jose, each certificate imported once) vs
 *    google-auth-library's verifyIdToken (re-parses the PEM certificate every call). jose
 *    verifies through WebCrypto, on libuv's thread pool: that hop is most of what separates it
 *    from a synchronous verify, and it grows with CPU contention.
 * 2. Envelope encryption and decryption of 1,000 refresh tokens: cached data keys vs one KMS
 *    data key per token (time and KMS requests, against the KMS emulator over HTTP).
 * 3. Cold start: load time and RSS of each bundled function vs a bare `node -e ""`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KMSClient, CreateKeyCommand } from '@aws-sdk/client-kms';
import { OAuth2Client } from 'google-auth-library';
import { kmsCipher } from '../lib/aws/kms-data-keys';
import type { TokenCipher } from '../lib/crypto/envelope';
import { GoogleKeySet, IdTokenVerifier } from '../lib/google/token-verifier';
import { DEFAULT_LOCAL_CLIENT, startGoogleEmulator } from '../local/google-emulator';
import { startKmsEmulator } from '../local/kms-emulator';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const ROOT = resolve(__dirname, '..');
const rows: string[][] = [['benchmark', 'baseline', 'ours', 'ratio (ours / baseline)']];

async function time(run: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const fmt = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`);
const ratio = (ours: number, baseline: number) => `${(ours / baseline).toFixed(3)}×`;

async function idTokens(): Promise<void> {
  const google = await startGoogleEmulator({ port: 0 });
  try {
    const audience = DEFAULT_LOCAL_CLIENT.clientId;
    const idToken = google.signIdToken({ sub: 'bench', aud: audience });
    const n = 2000;
    const library = new OAuth2Client({
      clientId: audience,
      endpoints: { oauth2FederatedSignonPemCertsUrl: `${google.url}/oauth2/v1/certs` },
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
    rows.push([`ID token verification ×${n}`, fmt(baseline), fmt(mine), ratio(mine, baseline)]);
  } finally {
    await google.close();
  }
}

async function envelope(): Promise<void> {
  const kms = await startKmsEmulator({ port: 0 });
  try {
    const client = new KMSClient({
      endpoint: kms.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const n = 1000;
    const tokens = Array.from({ length: n }, (_, i) => `1//bench-refresh-token-${i}-${'x'.repeat(80)}`);
    // Encrypt as the exchange does, then decrypt with a fresh cipher as a worker in another execution environment.
    const measure = async (makeCipher: () => TokenCipher) => {
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
    rows.push([
      `encrypt ${n} refresh tokens`,
      `${fmt(uncached.encryptMs)}, ${uncached.encryptRequests} KMS req`,
      `${fmt(cached.encryptMs)}, ${cached.encryptRequests} KMS req`,
      ratio(cached.encryptMs, uncached.encryptMs),
    ]);
    rows.push([
      `decrypt ${n} refresh tokens`,
      `${fmt(uncached.decryptMs)}, ${uncached.decryptRequests} KMS req`,
      `${fmt(cached.decryptMs)}, ${cached.decryptRequests} KMS req`,
      ratio(cached.decryptMs, uncached.decryptMs),
    ]);
  } finally {
    await kms.close();
  }
}

/** Enough configuration for every function's init phase to run to the end (nothing is called). */
const FUNCTION_ENV = {
  TABLE_NAME: 'bench',
  KMS_KEY_ID: 'alias/bench',
  REFRESH_QUEUE_URL: 'http://127.0.0.1:9/queue/bench',
  GOOGLE_CLIENT_SECRET_FILE: '/nonexistent/client_secret.json',
  AWS_REGION: 'us-east-1',
};

/** Runs a script in a fresh node and returns [wall ms, max RSS MiB], median of `runs`. */
function coldLoad(args: string[], runs = 5): [number, number] {
  const samples: [number, number][] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const out = spawnSync(process.execPath, [...args], {
      encoding: 'utf8',
      env: { ...process.env, ...FUNCTION_ENV, NODE_OPTIONS: '' },
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const rss = Number(/rss=(\d+)/.exec(out.stdout)?.[1] ?? 0) / 1024 / 1024;
    samples.push([ms, rss]);
  }
  samples.sort((a, b) => a[0] - b[0]);
  return samples[Math.floor(runs / 2)]!;
}

function coldStarts(): void {
  const out = mkdtempSync(join(tmpdir(), 'goa-bench-'));
  const report = 'process.stdout.write("rss=" + process.memoryUsage().rss)';
  const [bareMs, bareRss] = coldLoad(['-e', report]);
  for (const name of ['exchange', 'refresh-worker', 'refresh-dispatch', 'disconnect', 'risc']) {
    const entry = join(ROOT, 'functions', name, 'index.ts');
    const bundle = join(out, `${name}.js`);
    try {
      execFileSync(join(ROOT, 'node_modules/.bin/esbuild'), [
        entry,
        '--bundle',
        '--platform=node',
        '--target=node20',
        '--minify',
        `--outfile=${bundle}`,
        '--log-level=error',
      ]);
    } catch {
      continue; // that function does not exist yet
    }
    // Load the module without running a handler: what Lambda's init phase pays.
    const [ms, rss] = coldLoad(['-e', `try { require(${JSON.stringify(bundle)}) } catch {} ${report}`]);
    const kib = (statSync(bundle).size / 1024).toFixed(0);
    rows.push([
      `cold load ${name} (${kib} KiB bundle)`,
      `${fmt(bareMs)}, ${bareRss.toFixed(0)} MiB`,
      `${fmt(ms)}, ${rss.toFixed(0)} MiB`,
      `${ratio(ms, bareMs)} time, ${ratio(rss, bareRss)} RSS`,
    ]);
  }
}

async function main(): Promise<void> {
  await idTokens();
  await envelope();
  coldStarts();
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, col) => cell.padEnd(widths[col]!)).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
