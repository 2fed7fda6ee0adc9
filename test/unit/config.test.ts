import { googleConfig, intEnv, requireEnv } from '../../lib/config';

describe('configuration', () => {
  it('names the missing variable', () => {
    expect(() => requireEnv('TABLE_NAME', { KMS_KEY_ID: 'k' })).toThrow('TABLE_NAME is required');
    expect(() => googleConfig({})).toThrow(/GOOGLE_CLIENT_SECRET_ARN or GOOGLE_CLIENT_SECRET_FILE/);
  });

  it('refuses both secret sources at once', () => {
    expect(() => googleConfig({ GOOGLE_CLIENT_SECRET_ARN: 'a', GOOGLE_CLIENT_SECRET_FILE: 'b' })).toThrow(
      /exactly one/,
    );
  });

  it('applies the documented defaults', () => {
    expect(googleConfig({ GOOGLE_CLIENT_SECRET_FILE: 'f' })).toEqual({
      clientSecret: { kind: 'file', path: 'f' },
      allowedAzp: [],
      requiredScopes: ['https://www.googleapis.com/auth/drive.appdata'],
      redirectUri: '',
    });
  });

  it('rejects a malformed emulator host and out-of-range numbers', () => {
    expect(() => googleConfig({ GOOGLE_CLIENT_SECRET_FILE: 'f', GOOGLE_EMULATOR_HOST: 'http://x' })).toThrow(
      'GOOGLE_EMULATOR_HOST',
    );
    expect(() => intEnv('GOOGLE_QPS', 1, { min: 1, max: 5 }, { GOOGLE_QPS: '9' })).toThrow('GOOGLE_QPS');
  });
});
