/**
 * Cold starts: each function reads and validates its configuration when its module loads,
 * naming a missing variable, and asks only for what it uses.
 */
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack.close();
});

describe('cold start', () => {
  /** Loads a handler module afresh, as a new Lambda execution environment would. */
  const coldStart = (handler: 'risc' | 'disconnect' | 'connection-events') =>
    jest.isolateModulesAsync(async () => {
      if (handler === 'risc') await import('../../functions/risc');
      else if (handler === 'disconnect') await import('../../functions/disconnect');
      else await import('../../functions/connection-events');
    });

  let saved: NodeJS.ProcessEnv;
  beforeEach(() => (saved = { ...process.env }));
  afterEach(() => (process.env = saved));

  it('does not need KMS_KEY_ID for the risc function, but names a missing TABLE_NAME', async () => {
    delete process.env.KMS_KEY_ID;
    await expect(coldStart('risc')).resolves.toBeUndefined();
    delete process.env.TABLE_NAME;
    await expect(coldStart('risc')).rejects.toThrow(/TABLE_NAME/);
  });

  it('names a missing REFRESH_QUEUE_URL for the disconnect function', async () => {
    delete process.env.REFRESH_QUEUE_URL;
    await expect(coldStart('disconnect')).rejects.toThrow(/REFRESH_QUEUE_URL/);
  });

  it('needs no key, secret or table for the connection-events function, but names a bad EVENT_BUS_NAME', async () => {
    for (const name of ['KMS_KEY_ID', 'TABLE_NAME', 'GOOGLE_CLIENT_SECRET_FILE', 'REFRESH_QUEUE_URL'])
      delete process.env[name];
    await expect(coldStart('connection-events')).resolves.toBeUndefined();
    process.env.EVENT_BUS_NAME = 'not a bus name';
    await expect(coldStart('connection-events')).rejects.toThrow(/EVENT_BUS_NAME/);
  });
});
