/**
 * The RISC event stream of the emulated project: where Google would push security
 * events, as registered through the stream API, and push delivery itself.
 */
import { EVENT_TYPES, RISC_ISSUER } from './security-events';

export const PUSH_DELIVERY_METHOD = 'https://schemas.openid.net/secevent/risc/delivery-method/push';
const SUPPORTED_EVENTS: readonly string[] = Object.values(EVENT_TYPES).filter(
  (type) => type !== EVENT_TYPES.verification,
);
const DELIVERY_TIMEOUT_MS = 5000;

export interface RiscStreamConfig {
  iss: string;
  aud: string[];
  delivery: { delivery_method: string; url: string };
  events_supported: string[];
  events_requested: string[];
  events_delivered: string[];
  /** Emulator extra: the outcome of the last push (e.g. from stream:verify). */
  lastDelivery?: DeliveryOutcome;
}

export interface DeliveryOutcome {
  at: string;
  status?: number;
  error?: string;
}

export class RiscStreams {
  private config: RiscStreamConfig | undefined;

  current(): RiscStreamConfig | undefined {
    return this.config && structuredClone(this.config);
  }

  update(audience: string, url: string, eventsRequested: string[]): void {
    this.config = {
      iss: RISC_ISSUER,
      aud: [audience],
      delivery: { delivery_method: PUSH_DELIVERY_METHOD, url },
      events_supported: [...SUPPORTED_EVENTS],
      events_requested: eventsRequested,
      events_delivered: eventsRequested.filter((type) => SUPPORTED_EVENTS.includes(type)),
    };
  }

  /** POSTs a SET to the registered receiver, as Google's push delivery does. */
  async push(token: string, at: Date): Promise<DeliveryOutcome> {
    const config = this.config;
    if (!config) throw new Error('no RISC stream is configured');
    let outcome: DeliveryOutcome;
    try {
      const response = await fetch(config.delivery.url, {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt', accept: 'application/json' },
        body: token,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      outcome = { at: at.toISOString(), status: response.status };
    } catch (error) {
      outcome = { at: at.toISOString(), error: error instanceof Error ? error.message : String(error) };
    }
    config.lastDelivery = outcome;
    return outcome;
  }
}
