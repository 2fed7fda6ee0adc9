import { drivePushAddress, drivePushCoalesceSeconds } from '../../lib/jobs/config';
import {
  channelTokenMatches,
  hashChannelToken,
  newChannelToken,
  userIdOfChannelToken,
  type PushChannel,
} from '../../lib/jobs/drive-push';

const channelWith = (tokenHash: string): PushChannel => ({ id: 'c', resourceId: 'r', tokenHash, expiresAt: 0 });

describe('Drive push channel tokens', () => {
  it('route to the user they were made for, whatever characters the id holds', () => {
    for (const userId of ['110248495921238986420', 'a.b-c_d/é']) {
      expect(userIdOfChannelToken(newChannelToken(userId).token)).toBe(userId);
    }
  });

  it('are fresh secrets, kept only as a hash', () => {
    const first = newChannelToken('42');
    const second = newChannelToken('42');
    expect(first.token).not.toBe(second.token);
    expect(first.tokenHash).toBe(hashChannelToken(first.token));
    expect(first.tokenHash).not.toContain(first.token.split('.')[1]);
    expect(channelTokenMatches(channelWith(first.tokenHash), first.token)).toBe(true);
    expect(channelTokenMatches(channelWith(first.tokenHash), second.token)).toBe(false);
  });

  it('route nowhere when malformed', () => {
    for (const token of [
      '',
      'garbage',
      'NDI.short',
      `.${'a'.repeat(43)}`,
      `NDI=.${'a'.repeat(43)}`,
      `NDI.${'a'.repeat(44)}`,
    ]) {
      expect(userIdOfChannelToken(token)).toBeUndefined();
    }
  });
});

describe('Drive push configuration', () => {
  it('accepts https addresses, and http only on loopback', () => {
    expect(drivePushAddress({})).toBeUndefined();
    expect(drivePushAddress({ DRIVE_PUSH_ADDRESS: 'https://api.example.com/drive/notifications' })).toBe(
      'https://api.example.com/drive/notifications',
    );
    expect(drivePushAddress({ DRIVE_PUSH_ADDRESS: 'http://127.0.0.1:3000/drive/notifications' })).toMatch(/^http:/);
    expect(() => drivePushAddress({ DRIVE_PUSH_ADDRESS: 'http://api.example.com/x' })).toThrow('DRIVE_PUSH_ADDRESS');
    expect(() => drivePushAddress({ DRIVE_PUSH_ADDRESS: 'not a url' })).toThrow('DRIVE_PUSH_ADDRESS');
  });

  it('coalesces for 10 s by default', () => {
    expect(drivePushCoalesceSeconds({})).toBe(10);
    expect(() => drivePushCoalesceSeconds({ DRIVE_PUSH_COALESCE_SECONDS: '901' })).toThrow(
      'DRIVE_PUSH_COALESCE_SECONDS',
    );
  });
});
