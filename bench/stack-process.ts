/**
 * The benchmark's backends, in a process of their own so that the bench process's CPU time
 * is the code under test and nothing else: dynalite, the KMS emulator and the Google
 * emulator, each behind a proxy that delays every answer (the latency a real service adds)
 * and counts requests by operation.
 *
 * Prints one JSON line `{ control, dynamo, kms, google, googleHostPort, tableName, kmsKeyId, secretFile }`,
 * then answers on `control`:
 * - `POST /delays` `{ dynamo, kms, google }` (ms) sets the delays;
 * - `POST /codes` `{ subs: [...] }` answers `{ codes: [...] }` (auth codes with forced consent);
 * - `POST /id-tokens` `{ subs: [...] }` answers `{ idTokens: [...] }` (signed ID tokens for the server client);
 * - `GET /counts` answers `{ dynamo: { op: n }, kms: {...}, google: {...} }`; `POST /reset` zeroes them.
 * Exits when its standard input closes (the bench process ended).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDb } from '../local/aws/dynamodb';
import { localAwsDefaults } from '../local/aws/local-env';
import { clientSecretJson, DEFAULT_LOCAL_CLIENT, startGoogleEmulator } from '../local/google-emulator';
import { startKmsEmulator } from '../local/kms-emulator';
import { provisionLocal } from '../local/provision';

type Service = 'dynamo' | 'kms' | 'google';
const delays: Record<Service, number> = { dynamo: 0, kms: 0, google: 0 };
const counts: Record<Service, Record<string, number>> = { dynamo: {}, kms: {}, google: {} };

/** The operation a request names: the AWS JSON protocol's `X-Amz-Target`, else Google's path. */
function operationOf(req: IncomingMessage): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  return (req.url ?? '/').split('?')[0]!.replace(/\/files\/[^/]+/, '/files/{id}');
}

function listen(server: ReturnType<typeof createServer>): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

/** A proxy to `target` that waits `delays[service]` before forwarding. */
function delayingProxy(service: Service, target: string): Promise<string> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const op = operationOf(req);
    counts[service][op] = (counts[service][op] ?? 0) + 1;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      setTimeout(() => {
        const forward = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: upstream.host },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forward.on('error', () => {
          res.writeHead(502).end();
        });
        forward.end(Buffer.concat(chunks));
      }, delays[service]);
    });
  });
  server.keepAliveTimeout = 60_000;
  return listen(server);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

async function main(): Promise<void> {
  const [dynamo, kms, google] = await Promise.all([
    startDynamoDb(),
    startKmsEmulator({ port: 0 }),
    startGoogleEmulator({ port: 0 }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'goa-bench-'));
  const secretFile = join(dir, 'client_secret.json');
  writeFileSync(secretFile, clientSecretJson(DEFAULT_LOCAL_CLIENT));
  const tableName = 'bench-users';
  const kmsKeyId = 'alias/bench';
  await provisionLocal(
    {
      ...localAwsDefaults(process.env),
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
      AWS_ENDPOINT_URL_KMS: kms.url,
      TABLE_NAME: tableName,
      KMS_KEY_ID: kmsKeyId,
    },
    { log: () => undefined },
  );
  const [dynamoProxy, kmsProxy, googleProxy] = await Promise.all([
    delayingProxy('dynamo', dynamo.url),
    delayingProxy('kms', kms.url),
    delayingProxy('google', google.url),
  ]);

  const control = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = (body: unknown) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    void (async () => {
      try {
        if (req.method === 'POST' && req.url === '/delays') {
          Object.assign(delays, await readJson(req));
          reply(delays);
        } else if (req.method === 'POST' && req.url === '/codes') {
          const { subs } = (await readJson(req)) as { subs: string[] };
          reply({ codes: subs.map((sub) => google.authorize({ sub, forceConsent: true }).code) });
        } else if (req.method === 'POST' && req.url === '/id-tokens') {
          const { subs } = (await readJson(req)) as { subs: string[] };
          reply({ idTokens: subs.map((sub) => google.signIdToken({ sub, email: `${sub}@example.com` })) });
        } else if (req.method === 'GET' && req.url === '/counts') {
          reply(counts);
        } else if (req.method === 'POST' && req.url === '/reset') {
          for (const service of Object.keys(counts) as Service[]) counts[service] = {};
          reply({});
        } else {
          res.writeHead(404).end();
        }
      } catch (error) {
        res.writeHead(500).end(String(error));
      }
    })();
  });
  const controlUrl = await listen(control);
  process.stdout.write(
    `${JSON.stringify({
      control: controlUrl,
      dynamo: dynamoProxy,
      kms: kmsProxy,
      google: googleProxy,
      googleHostPort: new URL(googleProxy).host,
      tableName,
      kmsKeyId,
      secretFile,
    })}\n`,
  );
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
