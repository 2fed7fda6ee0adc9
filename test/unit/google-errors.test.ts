import { InvalidGrantError, UpstreamError } from '../../lib/errors';
import { fromGoogleError } from '../../lib/google/oauth';

/** The shape of a gaxios error as google-auth-library throws it: only status and body matter. */
const googleAnswer = (status: number, data: Record<string, string>) => ({ response: { status, data } });

describe('fromGoogleError', () => {
  it('maps redirect_uri_mismatch to invalid_grant: the code came from the other flow', () => {
    const mapped = fromGoogleError(googleAnswer(400, { error: 'redirect_uri_mismatch' }), 'code exchange');
    expect(mapped).toBeInstanceOf(InvalidGrantError);
    expect(mapped).toMatchObject({ status: 400, code: 'invalid_grant' });
    expect(mapped.message).toContain('postmessage');
  });

  it('still maps other unexpected OAuth errors to upstream_error', () => {
    expect(fromGoogleError(googleAnswer(401, { error: 'invalid_client' }), 'code exchange')).toBeInstanceOf(
      UpstreamError,
    );
  });
});
