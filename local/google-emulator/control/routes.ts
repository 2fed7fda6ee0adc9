/**
 * The control API under /emulator/: JSON over HTTP for tests and demos in other
 * processes, each route a thin wrapper over a GoogleEmulator method.
 */
import type { GoogleEmulator } from '../emulator';
import type { FaultSpec } from '../faults';
import type { PublishingStatus } from '../oauth/clients';
import type { RefreshFailureCause } from '../oauth/grants';
import { invalidArgument, json, notFound, type EmulatorRequest, type EmulatorResponse } from '../http';
import type { Route } from '../router';
import { Input } from './input';

export function controlRoutes(emulator: GoogleEmulator): Route[] {
  const route = (method: string, path: string, handle: (request: EmulatorRequest) => unknown): Route => ({
    method,
    pattern: `/emulator${path}`,
    endpoint: 'control',
    handle: (request) => answer(() => handle(request)),
  });
  const sub = (request: EmulatorRequest): string => request.params.sub ?? '';
  return [
    route('POST', '/authorize', (request) => {
      const input = Input.of(request);
      return emulator.authorize({
        sub: input.string('sub'),
        clientId: input.optionalString('clientId'),
        email: input.optionalString('email'),
        emailVerified: input.optionalBoolean('emailVerified'),
        name: input.optionalString('name'),
        givenName: input.optionalString('givenName'),
        familyName: input.optionalString('familyName'),
        picture: input.optionalString('picture'),
        locale: input.optionalString('locale'),
        scopes: input.optionalStringList('scopes'),
        forceConsent: input.optionalBoolean('forceConsent'),
        azp: input.optionalString('azp'),
        redirectUri: input.optionalString('redirectUri'),
        idToken: input.optionalObject('idToken'), // checked by authorize()
      });
    }),
    route('POST', '/clients', (request) => {
      const input = Input.of(request);
      emulator.registerClient({
        clientId: input.string('clientId'),
        clientSecret: input.string('clientSecret'),
        redirectUris: input.optionalStringList('redirectUris'),
      });
      return {};
    }),
    route('POST', '/faults', (request) => {
      const input = Input.of(request);
      // The injector checks endpoint and kind against its lists.
      emulator.injectFault({
        endpoint: input.string('endpoint') as FaultSpec['endpoint'],
        kind: input.fields.kind as FaultSpec['kind'],
        count: input.optionalNumber('count'),
        sub: input.optionalString('sub'),
      });
      return {};
    }),
    route('DELETE', '/faults', () => {
      emulator.clearFaults();
      return {};
    }),
    route('POST', '/users/:sub/revoke', (request) => ({
      revokedGrants: emulator.revokeUser(sub(request), { clientId: Input.of(request).optionalString('clientId') }),
    })),
    route('POST', '/users/:sub/refresh-failure', (request) => {
      const input = Input.of(request);
      return {
        grants: emulator.failRefreshes(sub(request), input.string('cause') as RefreshFailureCause, {
          clientId: input.optionalString('clientId'),
        }),
      };
    }),
    route('POST', '/refresh-tokens/failure', (request) => {
      const input = Input.of(request);
      if (!emulator.failRefreshToken(input.string('refreshToken'), input.string('cause') as RefreshFailureCause))
        throw new RangeError('unknown refresh token');
      return {};
    }),
    route('POST', '/clients/publishing-status', (request) => {
      const input = Input.of(request);
      emulator.setPublishingStatus(input.string('status') as PublishingStatus, {
        clientId: input.optionalString('clientId'),
      });
      return {};
    }),
    route('POST', '/users/:sub/rotate-refresh-token', (request) => ({
      grants: emulator.rotateRefreshTokenOnNextRefresh(sub(request), {
        clientId: Input.of(request).optionalString('clientId'),
      }),
    })),
    route('POST', '/clock', (request) => {
      const seconds = Input.of(request).optionalNumber('advanceSeconds');
      if (seconds === undefined) throw new RangeError('advanceSeconds is required');
      emulator.advanceClock(seconds);
      return { now: emulator.now().toISOString() };
    }),
    route('GET', '/requests', () => emulator.requests()),
    route('DELETE', '/requests', () => {
      emulator.clearRequests();
      return {};
    }),
    route('POST', '/keys/rotate', (request) =>
      emulator.rotateKeys({ dropOld: Input.of(request).optionalBoolean('dropOld') }),
    ),
    route('POST', '/id-token', (request) => {
      const input = Input.of(request);
      return { idToken: emulator.signIdToken({ ...input.fields, sub: input.string('sub') }) };
    }),
    route('POST', '/risc/events', (request) => {
      const input = Input.of(request);
      const events = input.optionalObject('events');
      if (!events) throw new RangeError('events is required');
      return {
        token: emulator.signSecurityEvent({
          aud: input.string('aud'),
          events: events as Record<string, object>,
          jti: input.optionalString('jti'),
          iat: input.optionalNumber('iat'),
          exp: input.optionalNumber('exp'),
          iss: input.optionalString('iss'),
          kid: input.optionalString('kid'),
        }),
      };
    }),
    {
      method: 'GET',
      pattern: '/emulator/risc/stream',
      endpoint: 'control',
      handle: () => {
        const stream = emulator.riscStream();
        return stream ? json(200, stream) : notFound('No stream configured.');
      },
    },
    route('POST', '/service-accounts', (request) =>
      emulator.createServiceAccount({ clientId: Input.of(request).optionalString('clientId') }),
    ),
    route('POST', '/drive/:sub/files', (request) => {
      const input = Input.of(request);
      return emulator.seedDriveFile(sub(request), {
        name: input.string('name'),
        size: input.optionalNumber('size'),
        mimeType: input.optionalString('mimeType'),
        modifiedTime: input.optionalString('modifiedTime'),
        content: input.optionalString('content'),
      });
    }),
    route('DELETE', '/drive/:sub/files/:fileId', (request) => ({
      deleted: emulator.deleteDriveFile(sub(request), request.params.fileId ?? ''),
    })),
    route('POST', '/drive/:sub/expire-page-tokens', (request) => {
      emulator.expireDrivePageTokens(sub(request));
      return {};
    }),
    route('GET', '/drive/channels', () => emulator.driveChannels()),
    route('GET', '/drive/push-deliveries', async () => {
      await emulator.pushIdle();
      return emulator.pushDeliveries();
    }),
    route('GET', '/tokens/:sub', (request) => emulator.tokenState(sub(request))),
    // For leak assertions from other processes (the browser tests): loopback only, test values only.
    route('GET', '/issued-secrets', () => ({ secrets: emulator.issuedSecrets() })),
  ];
}

/** Results become 200 JSON; bad input (RangeError) becomes 400. */
async function answer(run: () => unknown): Promise<EmulatorResponse> {
  try {
    return json(200, await run());
  } catch (error) {
    if (error instanceof RangeError) return invalidArgument(error.message);
    throw error;
  }
}
