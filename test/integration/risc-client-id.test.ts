/**
 * POST /risc as the deployed stack runs it when `googleClientId` is set: the client ID
 * comes from GOOGLE_CLIENT_ID and the function has no way to the client secret at all.
 */
import { RISC_EVENT_TYPES } from '../../lib/risc/events';
import type { HttpApi } from '../../local/http-api';
import { startTestStack, type TestStack } from '../support/stack';

const RISC_ISSUER = 'https://accounts.google.com/';
const ANDROID_CLIENT = 'android-risc-id.apps.googleusercontent.com';

let stack: TestStack;
let api: HttpApi;

beforeAll(async () => {
  stack = await startTestStack({ allowedAzp: [ANDROID_CLIENT] });
  // What infra/stack.ts gives risc: the client ID, no secret (neither ARN nor file).
  process.env.GOOGLE_CLIENT_ID = stack.clientId;
  delete process.env.GOOGLE_CLIENT_SECRET_FILE;
  delete process.env.GOOGLE_CLIENT_SECRET_ARN;
  const risc = await import('../../functions/risc');
  api = await stack.serve({ 'POST /risc': risc.handler });
});

afterAll(async () => {
  delete process.env.GOOGLE_CLIENT_ID;
  await stack.close();
});

const push = (token: string) =>
  fetch(`${api.url}/risc`, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body: token });

const tokensRevoked = (sub: string) => ({
  [RISC_EVENT_TYPES.tokensRevoked]: { subject: { subject_type: 'iss-sub', iss: RISC_ISSUER, sub } },
});

describe('POST /risc with GOOGLE_CLIENT_ID instead of the client secret', () => {
  it('accepts a security event addressed to the server client ID', async () => {
    const response = await push(stack.google.signSecurityEvent({ aud: stack.clientId, events: tokensRevoked('7001') }));
    expect(response.status).toBe(202);
  });

  it('accepts one addressed to an allowed app client ID', async () => {
    const response = await push(stack.google.signSecurityEvent({ aud: ANDROID_CLIENT, events: tokensRevoked('7002') }));
    expect(response.status).toBe(202);
  });

  it('refuses one addressed to another client', async () => {
    const response = await push(
      stack.google.signSecurityEvent({ aud: 'someone-else.apps.googleusercontent.com', events: tokensRevoked('7003') }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_token' });
  });
});
