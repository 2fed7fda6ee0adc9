/**
 * The events port: what the product tells the company's other systems, as EventBridge
 * events with `Source` `google-offline-access` on `EVENT_BUS_NAME` (the adapter is
 * `lib/aws/eventbridge.ts`). A detail never carries a token, code, secret or file content.
 */

export const EVENT_SOURCE = 'google-offline-access';

export interface EventPublisher {
  /** @throws UpstreamUnavailableError when the bus did not take the event (retry later). */
  publish(detailType: string, detail: Record<string, unknown>): Promise<void>;
}
