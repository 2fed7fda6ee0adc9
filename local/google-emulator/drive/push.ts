/**
 * Drive push notifications: channels opened by `changes.watch`, closed by `channels.stop`
 * or by expiring, and the messages Google POSTs to a channel's address — a `sync` message
 * when the channel opens, a `change` message whenever the watched user's Drive changes in
 * a watched space. Empty bodies; everything is in the `X-Goog-*` headers.
 */
import { randomBytes } from 'node:crypto';
import type { EmulatorClock } from '../clock';
import type { DriveSpace, FileChange } from './store';

/** Drive's longest channel lifetime for changes (one week) and its default (one hour). */
export const MAX_CHANNEL_LIFETIME_MS = 7 * 24 * 3600 * 1000;
export const DEFAULT_CHANNEL_LIFETIME_MS = 3600 * 1000;
const DELIVERY_TIMEOUT_MS = 5_000;

export interface WatchChannel {
  id: string;
  resourceId: string;
  resourceUri: string;
  /** The secret Google echoes in `X-Goog-Channel-Token` (optional). */
  token?: string;
  address: string;
  /** The user whose Drive is watched. */
  owner: string;
  spaces: DriveSpace[];
  expirationMs: number;
  /** Messages sent so far (the last `X-Goog-Message-Number`). */
  messages: number;
}

/** One message sent to a channel's address, for tests and the demo (no token value). */
export interface PushDelivery {
  channelId: string;
  owner: string;
  state: 'sync' | 'change';
  messageNumber: number;
  /** The address's HTTP status; 0 when it could not be reached. */
  status: number;
}

export class PushChannels {
  private readonly channels = new Map<string, WatchChannel>();
  private readonly sent: PushDelivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly clock: EmulatorClock) {}

  /** Opens a channel and sends its `sync` message. @throws RangeError for a reused id. */
  open(channel: Omit<WatchChannel, 'resourceId' | 'messages'>): WatchChannel {
    if (this.channels.has(channel.id)) throw new RangeError(`Channel id ${channel.id} not unique`);
    const opened: WatchChannel = { ...channel, resourceId: randomBytes(20).toString('base64url'), messages: 0 };
    this.channels.set(opened.id, opened);
    this.deliver(opened, 'sync');
    return opened;
  }

  /** Closes the owner's channel; false when there is no such live channel. */
  stop(id: string, resourceId: string, owner: string): boolean {
    const channel = this.live(id);
    if (!channel || channel.resourceId !== resourceId || channel.owner !== owner) return false;
    this.channels.delete(id);
    return true;
  }

  /** A change in `owner`'s Drive: every live channel watching that space is told. */
  notify(owner: string, change: FileChange): void {
    for (const channel of this.channels.values()) {
      if (channel.owner === owner && channel.spaces.includes(change.space) && this.live(channel.id)) {
        this.deliver(channel, 'change');
      }
    }
  }

  /** Live channels, without their tokens. */
  list(): Omit<WatchChannel, 'token'>[] {
    return [...this.channels.values()]
      .filter((channel) => this.live(channel.id))
      .map(({ token: _token, ...rest }) => ({ ...rest }));
  }

  deliveries(): PushDelivery[] {
    return this.sent.map((delivery) => ({ ...delivery }));
  }

  /** Resolves once every message sent so far has been answered (or failed). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private live(id: string): WatchChannel | undefined {
    const channel = this.channels.get(id);
    if (channel && channel.expirationMs <= this.clock.nowMs()) {
      this.channels.delete(id);
      return undefined;
    }
    return channel;
  }

  private deliver(channel: WatchChannel, state: PushDelivery['state']): void {
    channel.messages += 1;
    const headers: Record<string, string> = {
      'x-goog-channel-id': channel.id,
      'x-goog-message-number': String(channel.messages),
      'x-goog-resource-id': channel.resourceId,
      'x-goog-resource-state': state,
      'x-goog-resource-uri': channel.resourceUri,
      'x-goog-channel-expiration': new Date(channel.expirationMs).toUTCString(),
      ...(channel.token !== undefined ? { 'x-goog-channel-token': channel.token } : {}),
    };
    const delivery: PushDelivery = {
      channelId: channel.id,
      owner: channel.owner,
      state,
      messageNumber: channel.messages,
      status: 0,
    };
    const sending = fetch(channel.address, {
      method: 'POST',
      headers,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    })
      .then(async (response) => {
        delivery.status = response.status;
        await response.arrayBuffer();
      })
      .catch(() => undefined)
      .finally(() => {
        this.sent.push(delivery);
        this.inFlight.delete(sending);
      });
    this.inFlight.add(sending);
  }
}
