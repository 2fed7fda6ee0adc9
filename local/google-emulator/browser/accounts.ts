/**
 * The Google accounts the emulator's sign-in popup offers: a few test accounts to pick, or
 * any e-mail typed in (its `sub` derived from it, so the same address is the same user).
 */
import { createHash } from 'node:crypto';
import { profileWithDefaults, type UserProfile } from '../oauth/users';

export const TEST_ACCOUNTS: readonly UserProfile[] = Object.freeze([
  profileWithDefaults('1001', {
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    givenName: 'Ada',
    familyName: 'Lovelace',
  }),
  profileWithDefaults('1002', {
    email: 'grace@example.com',
    name: 'Grace Hopper',
    givenName: 'Grace',
    familyName: 'Hopper',
  }),
  profileWithDefaults('1003', {
    email: 'alan@example.com',
    name: 'Alan Turing',
    givenName: 'Alan',
    familyName: 'Turing',
  }),
]);

const EMAIL = /^[^\s@<>"']{1,64}@[^\s@<>"']{1,190}$/;

/** The account for an e-mail address; `undefined` when it is not one. */
export function accountFor(email: string): UserProfile | undefined {
  const address = email.trim().toLowerCase();
  if (!EMAIL.test(address)) return undefined;
  const known = TEST_ACCOUNTS.find((account) => account.email === address);
  if (known) return known;
  // Google's subs are 21-digit decimal strings; a hash keeps typed addresses stable across runs.
  const digits = BigInt(`0x${createHash('sha256').update(address).digest('hex').slice(0, 16)}`).toString();
  const sub = `1${digits.padStart(20, '0')}`.slice(0, 21);
  const local = address.split('@')[0]!;
  const name = local
    .split(/[._-]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join(' ');
  const [givenName = name, ...rest] = name.split(' ');
  return profileWithDefaults(sub, { email: address, name, givenName, familyName: rest.join(' ') });
}
