import { protectConfiguredSecret, redactText, redactValue, rememberIssuedSecret } from '../../lib/redact';

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

  it('removes Google client secrets by their GOCSPX- shape, wherever they appear', () => {
    const out = redactText('client loaded with 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 from the secret');
    expect(out).not.toContain('1a2B3c');
    expect(out).toContain('[redacted-secret]');
  });

  it('removes values Google issued whatever their format', () => {
    rememberIssuedSecret('opaque-emulator-token-123');
    expect(redactText('failed for opaque-emulator-token-123!')).toBe('failed for [redacted]!');
  });

  it('keeps the configured client secret protected however many issued values come after it', () => {
    protectConfiguredSecret('configured-client-secret-value');
    // A warm worker's refreshes, or a flood of junk: far more values than the issued list holds.
    for (let i = 0; i < 5_000; i++) rememberIssuedSecret(`issued-value-${i}-xxxxxxxx`);
    expect(redactText('secret=configured-client-secret-value;x configured-client-secret-value')).not.toContain(
      'configured-client-secret-value',
    );
    // The oldest issued values made room; the newest are still there.
    expect(redactText('issued-value-4999-xxxxxxxx')).toBe('[redacted]');
  });

  it('never remembers values too short to be a credential (they would blank ordinary words)', () => {
    rememberIssuedSecret('error');
    protectConfiguredSecret('user');
    expect(redactText('user error')).toBe('user error');
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
