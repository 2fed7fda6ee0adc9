/** The EventBridge adapter of the connection-event sink: `PutEvents` on the configured bus (or the default bus). */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CONNECTION_EVENT_DETAIL_TYPE,
  CONNECTION_EVENT_SOURCE,
  type ConnectionEventSink,
  type ConnectionStatusChanged,
} from '../connection-events';

/** EventBridge's own limit on entries per PutEvents call. */
const MAX_ENTRIES = 10;

export class EventBridgeConnectionEvents implements ConnectionEventSink {
  constructor(
    private readonly client: EventBridgeClient,
    /** Bus name or ARN; `undefined` → the account's default bus. */
    private readonly busName?: string,
  ) {}

  async publish(events: readonly ConnectionStatusChanged[]): Promise<{ failedEventIds: string[] }> {
    const failedEventIds: string[] = [];
    for (let start = 0; start < events.length; start += MAX_ENTRIES) {
      const chunk = events.slice(start, start + MAX_ENTRIES);
      const out = await this.client.send(
        new PutEventsCommand({
          Entries: chunk.map((event) => ({
            Source: CONNECTION_EVENT_SOURCE,
            DetailType: CONNECTION_EVENT_DETAIL_TYPE,
            Detail: JSON.stringify(event),
            Time: new Date(event.at),
            ...(this.busName ? { EventBusName: this.busName } : {}),
          })),
        }),
      );
      // A partial failure answers 200 with an ErrorCode on each refused entry, in request order.
      if (out.FailedEntryCount) {
        chunk.forEach((event, i) => {
          if (out.Entries?.[i]?.ErrorCode || !out.Entries?.[i]?.EventId) failedEventIds.push(event.eventId);
        });
      }
    }
    return { failedEventIds };
  }
}
