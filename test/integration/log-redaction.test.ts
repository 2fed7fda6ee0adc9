/**
 * The log redactor cannot be steered by callers: what anyone posts as a "code" is never added
 * to the values blanked out of later log lines, so a victim's user ID stays readable in the
 * audit trail; and no flood of values ever pushes the client secret out of the redactor.
 */
import type { HttpApi } from '../../local/http-api';
import { captureOutput, signIn, type LogCapture } from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let api: HttpApi;
let logs: LogCapture;

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  logs = captureOutput();
  stack = await startTestStack();
  const exchange = await import('../../functions/exchange');
  api = await stack.serve({ 'POST /authcode': exchange.handler });
});

afterAll(async () => {
  logs.restore();
  await stack.close();
});

const postCode = (authCode: string) =>
  fetch(`${api.url}/authcode`, {
    method: 'POST',
    headers: { 'x-requested-with': 'com.example.app', 'content-type': 'application/json' },
    body: JSON.stringify({ authCode }),
  });

describe('log redaction under hostile input', () => {
  it('keeps a victim’s user ID in later log lines after someone posted it as a code', async () => {
    const victim = '110169484474386276334';
    const posted = await postCode(victim);
    expect(posted.status).toBe(400);

    await signIn(stack, api, victim);

    const signInLine = logs
      .text()
      .split('\n')
      .find((line) => line.includes('"sign-in exchanged"'));
    expect(signInLine).toContain(`"userId":"${victim}"`);
  });

  it('keeps the client secret out of the logs after thousands of junk codes', async () => {
    const { logger } = await import('../../lib/log');
    const { rememberIssuedSecret } = await import('../../lib/redact');
    const junk = Array.from({ length: 50 }, (_, i) => `junk-code-${i}-${'x'.repeat(10)}`);
    await Promise.all(junk.map((code) => postCode(code)));
    // And a warm worker's worth of issued tokens on top.
    for (let i = 0; i < 3_000; i++) rememberIssuedSecret(`issued-${i}-${'y'.repeat(12)}`);

    logger.error('an error that quotes the client secret', {
      detail: `secret is ${stack.google.clientSecret(stack.clientId)}`,
    });

    expect(logs.text()).not.toContain(stack.google.clientSecret(stack.clientId));
  });
});
