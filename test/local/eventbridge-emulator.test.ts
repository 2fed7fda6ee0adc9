/** The EventBridge stand-in, driven by the real @aws-sdk/client-eventbridge and the product's publisher. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../../lib/aws/eventbridge';
import { UpstreamUnavailableError } from '../../lib/errors';
import { startEventBridgeEmulator, type EventBridgeEmulator } from '../../local/eventbridge-emulator';

let bus: EventBridgeEmulator;
let client: EventBridgeClient;

beforeAll(async () => {
  bus = await startEventBridgeEmulator();
  client = new EventBridgeClient({
    endpoint: bus.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await bus.close();
});
beforeEach(() => bus.clearEvents());

describe('EventBridge stand-in', () => {
  it('records what PutEvents sends, on the named or the default bus', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'a', DetailType: 'One', Detail: '{"n":1}', EventBusName: 'company' },
          { Source: 'b', DetailType: 'Two', Detail: '{"n":2}' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.map((entry) => entry.EventId)).toEqual([expect.any(String), expect.any(String)]);
    expect(bus.events()).toEqual([
      expect.objectContaining({ eventBusName: 'company', source: 'a', detailType: 'One', detail: { n: 1 } }),
      expect.objectContaining({ eventBusName: 'default', source: 'b', detailType: 'Two', detail: { n: 2 } }),
    ]);
  });

  it('reports injected failures per entry, as PutEvents does', async () => {
    bus.failNextEntries(1);
    const out = await client.send(
      new PutEventsCommand({ Entries: [{ Source: 'a', DetailType: 'One', Detail: '{}' }] }),
    );
    expect(out).toMatchObject({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    expect(bus.events()).toEqual([]);
  });
});

describe('EventBridgePublisher', () => {
  it('publishes with the product source on the configured bus', async () => {
    await new EventBridgePublisher(client, 'company-bus').publish('Drive Changes', { userId: 'u1' });
    expect(bus.events()).toEqual([
      expect.objectContaining({
        source: 'google-offline-access',
        detailType: 'Drive Changes',
        eventBusName: 'company-bus',
        detail: { userId: 'u1' },
      }),
    ]);
  });

  it('turns a failed entry into a retryable error', async () => {
    bus.failNextEntries(1);
    await expect(new EventBridgePublisher(client).publish('Drive Changes', {})).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    );
  });
});
