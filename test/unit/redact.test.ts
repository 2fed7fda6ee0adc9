import { redactText, redactValue, rememberSecret } from '../../lib/redact';

describe('redaction', () => {
  it('removes JWTs, Google token shapes and form-encoded credentials from text', () => {
    const text =
      'id eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln access ya29.a0AfH6SM refresh 1//0gLx code 4/0AX4XfW ' +
      'body code=abc&refresh_token=xyz&client_secret=s3cr3t and Bearer abc.def';
    const out = redactText(text);
    for (const leaked of ['eyJhbGci', 'ya29.a0', '1//0gLx', '4/0AX4', 'code=abc', 'xyz', 's3cr3t', 'abc.def']) {
      expect(out).not.toContain(leaked);
    }
  });

  it('removes remembered values whatever their format', () => {
    rememberSecret('opaque-emulator-token-123');
    expect(redactText('failed for opaque-emulator-token-123!')).toBe('failed for [redacted]!');
  });

  it('blanks sensitive keys and redacts nested strings', () => {
    const out = redactValue({ authCode: 'x', nested: { refresh_token: 'y', note: 'token=abc' }, list: ['ya29.zzz'] });
    expect(out).toEqual({
      authCode: '[redacted]',
      nested: { refresh_token: '[redacted]', note: 'token=[redacted]' },
      list: ['[redacted-token]'],
    });
  });

  it('redacts JSON bodies embedded in messages', () => {
    expect(redactText('{"refresh_token":"1x","access_token":"a","ok":1}')).toBe(
      '{"refresh_token":"[redacted]","access_token":"[redacted]","ok":1}',
    );
  });
});
