/** The events port on EventBridge: one PutEvents entry per event, on `EVENT_BUS_NAME` or the default bus. */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { UpstreamUnavailableError } from '../errors';
import { EVENT_SOURCE, type EventPublisher } from '../events/publisher';

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly events: EventBridgeClient,
    /** Omitted: the account's default bus. */
    private readonly busName?: string,
  ) {}

  async publish(detailType: string, detail: Record<string, unknown>): Promise<void> {
    let out;
    try {
      out = await this.events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: EVENT_SOURCE,
              DetailType: detailType,
              Detail: JSON.stringify(detail),
              ...(this.busName ? { EventBusName: this.busName } : {}),
            },
          ],
        }),
      );
    } catch (error) {
      throw new UpstreamUnavailableError(`EventBridge did not take the ${detailType} event`, {
        cause: error instanceof Error ? new Error(`${error.name}: ${error.message}`) : undefined,
      });
    }
    // PutEvents answers 200 with per-entry failures (throttling, internal errors).
    const failed = out.Entries?.find((entry) => entry.ErrorCode);
    if (out.FailedEntryCount || failed) {
      throw new UpstreamUnavailableError(
        `EventBridge failed the ${detailType} event: ${failed?.ErrorCode ?? 'unknown'}`,
      );
    }
  }
}
