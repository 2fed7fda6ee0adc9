import { DEADLINE_SAFETY_MS, invocationDeadline } from '../../lib/refresh/deadline';

describe('invocationDeadline', () => {
  it('keeps a safety margin before Lambda’s timeout', () => {
    expect(invocationDeadline({ getRemainingTimeInMillis: () => 900_000 }, 1_000)).toBe(
      1_000 + 900_000 - DEADLINE_SAFETY_MS,
    );
  });

  it('keeps a third of a short invocation instead, so it still gets work done', () => {
    expect(invocationDeadline({ getRemainingTimeInMillis: () => 6_000 }, 0)).toBe(4_000);
  });

  it('has no deadline outside Lambda', () => {
    expect(invocationDeadline(undefined)).toBeUndefined();
    expect(invocationDeadline({})).toBeUndefined();
  });
});
