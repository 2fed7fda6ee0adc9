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
  const coldStart = (handler: 'risc' | 'disconnect') =>
    jest.isolateModulesAsync(async () => {
      await (handler === 'risc' ? import('../../functions/risc') : import('../../functions/disconnect'));
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
});
