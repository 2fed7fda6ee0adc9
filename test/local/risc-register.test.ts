/**
 * `npm run risc:register` against the Google emulator's RISC stream API: registration, and
 * Google's verification push accepted by the real `POST /risc` handler.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RISC_EVENT_TYPES } from '../../lib/risc/events';
import type { HttpApi } from '../../local/http-api';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let api: HttpApi;

beforeAll(async () => {
  stack = await startTestStack();
  const risc = await import('../../functions/risc');
  api = await stack.serve({ 'POST /risc': risc.handler });
});

afterAll(async () => {
  await stack.close();
});

describe('npm run risc:register', () => {
  it('registers POST /risc with the RISC stream API and Google’s verification push is accepted', async () => {
    const { registerRiscReceiver, parseEvents } = await import('../../local/risc-register');
    const dir = await mkdtemp(join(tmpdir(), 'risc-register-'));
    try {
      const keyFile = join(dir, 'service-account.json');
      await writeFile(keyFile, JSON.stringify(await stack.google.createServiceAccount()));

      const result = await registerRiscReceiver({
        receiverUrl: `${api.url}/risc`,
        keyFile,
        events: parseEvents('all'),
        verifyState: 'hello-from-risc-register',
      });

      const stream = stack.google.riscStream();
      expect(stream?.delivery).toEqual({
        delivery_method: 'https://schemas.openid.net/secevent/risc/delivery-method/push',
        url: `${api.url}/risc`,
      });
      expect(stream?.aud).toEqual([stack.clientId]);
      expect(stream?.events_requested).toEqual(expect.arrayContaining(Object.values(RISC_EVENT_TYPES)));
      expect(result).toMatchObject({ verificationRequested: true, receiverUrl: `${api.url}/risc` });
      // stream:verify pushed a verification SET to our receiver, which accepted it.
      expect(stream?.lastDelivery?.status).toBe(202);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown event name and a plain-http public URL', async () => {
    const { registerRiscReceiver, parseEvents } = await import('../../local/risc-register');
    expect(() => parseEvents('token-revoked,account-hijacked')).toThrow(/Unknown RISC event "account-hijacked"/);
    expect(parseEvents('token-revoked,account-disabled')).toEqual([
      RISC_EVENT_TYPES.tokenRevoked,
      RISC_EVENT_TYPES.accountDisabled,
    ]);
    const host = process.env.GOOGLE_EMULATOR_HOST;
    delete process.env.GOOGLE_EMULATOR_HOST;
    try {
      await expect(
        registerRiscReceiver({ receiverUrl: 'http://api.example.com/risc', keyFile: '/nonexistent' }),
      ).rejects.toThrow(/must be an https/);
    } finally {
      process.env.GOOGLE_EMULATOR_HOST = host;
    }
  });
});
