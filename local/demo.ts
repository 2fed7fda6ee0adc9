/**
 * `npm run demo`: a guided walk through the whole flow against the stack `npm start` runs —
 * sign-in, the code exchange, what is stored, an offline refresh with a Drive job, a retry,
 * disconnect, a RISC event, and a Testing-mode expiry diagnosed with the event it raised. Pauses between steps on a terminal; `--yes` runs straight through.
 */
import { createInterface } from 'node:readline/promises';
import { GetItemCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { loadStackEnv, STACK_ENV_FILE } from './stack-env';

process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN'; // the demo narrates; the functions' info logs would drown it

const interactive = process.stdin.isTTY && !process.argv.includes('--yes');
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
let stepNumber = 0;

async function step(title: string, explanation: string): Promise<void> {
  stepNumber += 1;
  console.log(`\n${bold(`Step ${stepNumber}. ${title}`)}\n${explanation}`);
  if (interactive) {
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    await prompt.question('  (Enter to run it) ');
    prompt.close();
  }
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : '';
  } catch {
    // not JSON: show as text
  }
  return { status: response.status, body };
}

const show = (label: string, value: unknown) =>
  console.log(`  ${label}\n${JSON.stringify(value, null, 2).replace(/^/gm, '    ')}`);

async function storedRecord(userId: string): Promise<Record<string, unknown> | undefined> {
  const dynamo = new DynamoDBClient({});
  const out = await dynamo.send(
    new GetItemCommand({ TableName: process.env.TABLE_NAME, Key: { pk: { S: `USER#${userId}` } } }),
  );
  dynamo.destroy();
  if (!out.Item) return undefined;
  const record = unmarshall(out.Item);
  if (record.refreshToken instanceof Uint8Array) {
    record.refreshToken = `<${record.refreshToken.length} bytes of AES-256-GCM envelope ciphertext>`;
  }
  for (const hash of ['tokenHash', 'tokenPrefixHash'])
    if (record[hash]) record[hash] = `${String(record[hash]).slice(0, 12)}…`;
  return record;
}

/** The token was stored `seconds` ago: the week that passes, on our side (Google's clock moves by its control route). */
async function backdateStoredToken(userId: string, seconds: number): Promise<void> {
  const dynamo = new DynamoDBClient({});
  await dynamo.send(
    new UpdateItemCommand({
      TableName: process.env.TABLE_NAME,
      Key: { pk: { S: `USER#${userId}` } },
      UpdateExpression: 'SET tokenStoredAt = :at',
      ExpressionAttributeValues: { ':at': { S: new Date(Date.now() - seconds * 1000).toISOString() } },
    }),
  );
  dynamo.destroy();
}

/**
 * The connection events the stack's EventBridge stand-in recorded for `userId`; waits (a few
 * seconds at most) until `atLeast` have arrived: the stream is consumed in the `npm start` process.
 */
async function connectionEventsOf(userId: string, atLeast: number): Promise<unknown[]> {
  const endpoint = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
  if (!endpoint) return [];
  let events: unknown[] = [];
  for (let attempt = 0; attempt < 50 && events.length < atLeast; attempt++) {
    if (attempt) await new Promise((resolve) => setTimeout(resolve, 100));
    const response = await fetch(`${endpoint}/emulator/events`).catch(() => undefined);
    if (!response?.ok) return [];
    const all = (await response.json()) as { detailType: string; detail: { userId?: string } }[];
    events = all.filter((e) => e.detailType === 'Connection Status Changed' && e.detail.userId === userId);
  }
  return events.map((e) => (e as { detail: unknown }).detail);
}

/** Polls `probe` until it answers something, or `timeoutMs` passes (then `undefined`). */
async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function main(): Promise<void> {
  if (!loadStackEnv()) {
    console.error(`No running local stack found (${STACK_ENV_FILE}). Start one first: npm start`);
    process.exit(1);
  }
  const api = process.env.LOCAL_API_URL!;
  const google = `http://${process.env.GOOGLE_EMULATOR_HOST!}`;
  const userId = `demo-${Date.now().toString(36)}`;
  const json = { 'content-type': 'application/json' };

  await step(
    'The user signs in on Android',
    '  The app asks Google Sign-In for a one-time server auth code (requestServerAuthCode with the\n' +
      "  server's client ID, scope drive.appdata). Here the Google emulator plays the consent screen.",
  );
  const { body: grant } = await call(`${google}/emulator/authorize`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      sub: userId,
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
    }),
  });
  const code = (grant as { code: string }).code;
  console.log(`  Google handed the app a code: ${code.slice(0, 6)}… (single-use, valid 10 minutes)`);

  await step(
    'The app POSTs the code to the backend',
    "  POST /authcode with X-Requested-With (the seed's CSRF defence) and a form body authCode=<code>.\n" +
      '  The exchange λ redeems it at Google once, verifies the ID token and stores the refresh token encrypted.',
  );
  const request = {
    method: 'POST',
    headers: { 'x-requested-with': 'com.example.app', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ authCode: code }).toString(),
  };
  const exchanged = await call(`${api}/authcode`, request);
  show(`HTTP ${exchanged.status}`, exchanged.body);

  await step(
    'A network retry sends the same code again',
    '  The same answer comes back, and Google sees the code only once.',
  );
  const retried = await call(`${api}/authcode`, request);
  console.log(
    `  HTTP ${retried.status}, identical body: ${JSON.stringify(retried.body) === JSON.stringify(exchanged.body)}`,
  );

  await step(
    'What the backend stored',
    '  DynamoDB holds the profile and scopes; the refresh token only as KMS envelope ciphertext.',
  );
  show(`USER#${userId}`, await storedRecord(userId));

  await step(
    'The user is offline; the schedule runs',
    "  The user's app keeps a few files in Drive's app data folder. One refresh cycle: the dispatcher\n" +
      '  enqueues every active user, the worker refreshes the access token and runs the Drive job.',
  );
  for (const [name, size] of [
    ['settings.json', 512],
    ['backup-1.db', 20480],
    ['backup-2.db', 40960],
  ] as const) {
    await call(`${google}/emulator/drive/${userId}/files`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name, size }),
    });
  }
  const { runRefreshCycle } = await import('./refresh-cycle');
  await runRefreshCycle();
  show('What the offline jobs recorded', (await storedRecord(userId))?.jobs);

  if (process.env.DRIVE_PUSH_ADDRESS) {
    await step(
      'The app writes to Drive while the user is away; Drive push tells the backend',
      "  That first run opened a Drive watch channel (changes.watch) for the user's app data. A new file\n" +
        '  makes Google POST a notification to /drive/notifications, which queues an early run of this one\n' +
        "  user; the drive-changes job then reads only what changed and publishes a 'Drive Changes' event.",
    );
    const before = String((await storedRecord(userId))?.lastRefreshAt);
    const { body: file } = await call(`${google}/emulator/drive/${userId}/files`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'written-offline.json', size: 64 }),
    });
    console.log(
      `  The app wrote ${(file as { name: string }).name} (${(file as { id: string }).id}) to the app data folder.`,
    );
    const record = await waitFor(async () => {
      const current = await storedRecord(userId);
      return String(current?.lastRefreshAt) !== before ? current : undefined;
    }, 20_000);
    const { body: deliveries } = await call(`${google}/emulator/drive/push-deliveries`);
    const mine = (deliveries as { owner: string; state: string; status: number; messageNumber: number }[]).filter(
      (delivery) => delivery.owner === userId,
    );
    show(
      "Google's notifications to the backend (X-Goog-Resource-State, X-Goog-Message-Number, HTTP status)",
      mine.map((delivery) => `${delivery.state} #${delivery.messageNumber} → ${delivery.status}`),
    );
    if (!record) {
      console.log('  No early run within 20 s: is `npm start` running with Drive push on?');
    } else {
      show(
        'What the push-triggered run recorded (the dev server printed the Drive Changes event)',
        (record.jobs as Record<string, unknown>)['drive-changes'],
      );
    }
  }

  await step(
    "A company job gets the user's access token",
    '  Another workload (a nightly export, a support tool, an agent) asks the token function, through the\n' +
      '  typed client (lib/client), for an access token with drive.appdata: Lambda Invoke, authorized by IAM.\n' +
      '  The first call refreshes at Google; the second is served from the encrypted cache.',
  );
  const { AccessTokenClient } = await import('../lib/client');
  const { listAppData } = await import('../examples/drive-appdata-job');
  const tokens = new AccessTokenClient();
  const scopes = ['https://www.googleapis.com/auth/drive.appdata'];
  const token = await tokens.getAccessToken({ userId, scopes });
  const again = await tokens.getAccessToken({ userId, scopes, minValiditySeconds: 600 });
  const info = await call(`${google}/tokeninfo?access_token=${encodeURIComponent(token.accessToken)}`);
  show('What the job got (the token itself is never printed)', {
    accessToken: `<${token.accessToken.length} characters>`,
    expiresAt: token.expiresAt.toISOString(),
    scopes: token.scopes,
    secondCallSameToken: again.accessToken === token.accessToken,
    googleTokeninfo: { status: info.status, sub: (info.body as { sub?: string }).sub },
  });
  const listing = await listAppData(userId, { tokens, rootUrl: google });
  show("The example job (examples/drive-appdata-job.ts) lists the user's Drive app data", listing.files);

  await step(
    'The user disconnects',
    '  POST /disconnect with the Google ID token as Bearer: the token is revoked at Google and the ciphertext destroyed.',
  );
  const { body: signed } = await call(`${google}/emulator/id-token`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ sub: userId }),
  });
  const disconnected = await call(`${api}/disconnect`, {
    method: 'POST',
    headers: {
      'x-requested-with': 'com.example.app',
      authorization: `Bearer ${(signed as { idToken: string }).idToken}`,
    },
  });
  show(`HTTP ${disconnected.status}`, disconnected.body);
  const after = await storedRecord(userId);
  console.log(`  Stored status: ${String(after?.status)}; refresh token stored: ${after?.refreshToken ? 'yes' : 'no'}`);

  await step(
    'Google reports a hijacked account (Cross-Account Protection)',
    '  A second user signs in; Google then POSTs a signed account-disabled security event to /risc.',
  );
  const secondUser = `${userId}-2`;
  const { body: secondGrant } = await call(`${google}/emulator/authorize`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ sub: secondUser }),
  });
  await call(`${api}/authcode`, {
    ...request,
    body: new URLSearchParams({ authCode: (secondGrant as { code: string }).code }).toString(),
  });
  const clientId = (
    JSON.parse((await import('node:fs')).readFileSync(process.env.GOOGLE_CLIENT_SECRET_FILE!, 'utf8')) as {
      web: { client_id: string };
    }
  ).web.client_id;
  const { body: event } = await call(`${google}/emulator/risc/events`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      aud: clientId,
      events: {
        'https://schemas.openid.net/secevent/risc/event-type/account-disabled': {
          subject: { subject_type: 'iss-sub', iss: 'https://accounts.google.com/', sub: secondUser },
          reason: 'hijacking',
        },
      },
    }),
  });
  const risc = await call(`${api}/risc`, {
    method: 'POST',
    headers: { 'content-type': 'application/secevent+jwt' },
    body: (event as { token: string }).token,
  });
  console.log(`  HTTP ${risc.status}`);
  const revoked = await storedRecord(secondUser);
  console.log(
    `  Stored status: ${String(revoked?.status)} (${String(revoked?.revokedReason)}); the dispatcher skips this user from now on.`,
  );

  await step(
    'A week later: the consent screen was left in "Testing"',
    '  Google gives apps whose OAuth consent screen is still in "Testing" refresh tokens that die after 7 days.\n' +
      "  A third user signs in; we switch the emulator's client to Testing, move Google's clock a week on and\n" +
      '  date our record of the token a week back (the week that passes), then the refresh worker runs for that user.',
  );
  const thirdUser = `${userId}-3`;
  const { body: thirdGrant } = await call(`${google}/emulator/authorize`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ sub: thirdUser, forceConsent: true }),
  });
  await call(`${api}/authcode`, {
    ...request,
    body: new URLSearchParams({ authCode: (thirdGrant as { code: string }).code }).toString(),
  });
  const week = 7 * 24 * 3600 + 600;
  await call(`${google}/emulator/clients/publishing-status`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ status: 'testing' }),
  });
  try {
    await call(`${google}/emulator/clock`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ advanceSeconds: week }),
    });
    await backdateStoredToken(thirdUser, week);
    console.log('  The worker refreshes the user (its warning below is what the operator sees in CloudWatch Logs):');
    const { refreshWorkerFunction } = await import('../lib/runtime/refresh-worker');
    refreshWorkerFunction.prepare();
    const worker = await refreshWorkerFunction.service();
    await worker.processBatch([
      {
        messageId: 'demo',
        body: JSON.stringify({ kind: 'refresh', cycle: new Date().toISOString(), users: [thirdUser] }),
      },
    ]);
  } finally {
    await call(`${google}/emulator/clients/publishing-status`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ status: 'production' }),
    });
  }
  const expired = await storedRecord(thirdUser);
  console.log(`  Stored status: ${String(expired?.status)}, reason: ${String(expired?.reason)}`);
  const raised = await connectionEventsOf(thirdUser, 2);
  show('The Connection Status Changed event it raised (from the table stream, via EventBridge)', raised.at(-1));

  console.log(`\n${bold('Done.')} Everything ran on 127.0.0.1 against the emulators.`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
