/**
 * The notification receiver's decisions, through its ports (an in-memory job state store
 * and a queue that can fail): what the integration suite cannot easily make SQS do.
 */
import { UpstreamUnavailableError } from '../../lib/errors';
import { DriveNotificationReceiver, type UserRunQueue } from '../../lib/jobs/drive-notifications';
import { newChannelToken } from '../../lib/jobs/drive-push';
import type { JobState, JobStateStore } from '../../lib/store/job-state';

class MemoryJobStates implements Pick<JobStateStore, 'load' | 'openWindow' | 'closeWindow'> {
  readonly states = new Map<string, JobState>();
  readonly windows = new Map<string, number>();
  load(userId: string, job: string) {
    return Promise.resolve(this.states.get(`${userId}/${job}`));
  }
  openWindow(userId: string, key: string, nowMs: number, windowMs: number) {
    const opened = this.windows.get(`${userId}/${key}`);
    if (opened !== undefined && opened > nowMs - windowMs) return Promise.resolve(false);
    this.windows.set(`${userId}/${key}`, nowMs);
    return Promise.resolve(true);
  }
  closeWindow(userId: string, key: string, openedAtMs: number) {
    if (this.windows.get(`${userId}/${key}`) === openedAtMs) this.windows.delete(`${userId}/${key}`);
    return Promise.resolve();
  }
}

function setUp(failingSends = 0) {
  const states = new MemoryJobStates();
  const { token, tokenHash } = newChannelToken('u1');
  states.states.set('u1/drive-changes', {
    pageToken: 'p',
    channel: { id: 'c1', resourceId: 'r1', tokenHash, expiresAt: Date.now() + 3600_000 },
  });
  const queued: { userId: string; delaySeconds: number }[] = [];
  let failures = failingSends;
  const runs: UserRunQueue = {
    enqueueUserRun(userId, _cycle, delaySeconds) {
      if (failures-- > 0) return Promise.reject(new UpstreamUnavailableError('SQS is down'));
      queued.push({ userId, delaySeconds });
      return Promise.resolve();
    },
  };
  let now = 1_000_000;
  const receiver = new DriveNotificationReceiver({ states, runs, coalesceSeconds: 10, now: () => now });
  const change = { channelId: 'c1', token, resourceId: 'r1', resourceState: 'change' };
  return { receiver, queued, change, advance: (ms: number) => (now += ms) };
}

describe('Drive notification receiver', () => {
  it('queues one run per window, delayed by the window, and another after it', async () => {
    const { receiver, queued, change, advance } = setUp();
    expect(await receiver.receive(change)).toEqual({ status: 'queued', userId: 'u1' });
    expect(await receiver.receive(change)).toEqual({ status: 'collapsed', userId: 'u1' });
    advance(10_000);
    expect(await receiver.receive(change)).toEqual({ status: 'queued', userId: 'u1' });
    expect(queued).toEqual([
      { userId: 'u1', delaySeconds: 10 },
      { userId: 'u1', delaySeconds: 10 },
    ]);
  });

  it('reopens the window when the queue failed, so Google’s redelivery queues the run', async () => {
    const { receiver, queued, change } = setUp(1);
    await expect(receiver.receive(change)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(await receiver.receive(change)).toEqual({ status: 'queued', userId: 'u1' });
    expect(queued).toHaveLength(1);
  });

  it('acknowledges sync messages and a mismatched resource id without queueing', async () => {
    const { receiver, queued, change } = setUp();
    expect(await receiver.receive({ ...change, resourceState: 'sync' })).toEqual({ status: 'sync' });
    expect(await receiver.receive({ ...change, resourceId: 'other' })).toEqual({
      status: 'ignored',
      reason: 'unknown_channel',
    });
    expect(queued).toEqual([]);
  });
});
