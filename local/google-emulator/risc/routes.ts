/**
 * Cross-Account Protection: the discovery document and the stream management API
 * (`risc.googleapis.com/v1beta`), authorized by a service-account access token with the
 * risc.configuration.readwrite scope.
 */
import { authenticate, requireScope } from '../access-tokens';
import { unixSeconds } from '../clock';
import type { EmulatorContext } from '../context';
import {
  apiError,
  invalidArgument,
  isRecord,
  json,
  jsonBody,
  type EmulatorRequest,
  type EmulatorResponse,
} from '../http';
import { SCOPES } from '../oauth/scopes';
import type { Route } from '../router';
import { EVENT_TYPES, RISC_ISSUER, signSecurityEvent } from './security-events';
import { PUSH_DELIVERY_METHOD } from './stream';

const SERVICE = 'risc.googleapis.com';

type StreamApiHandler = (request: EmulatorRequest, audience: string) => EmulatorResponse | Promise<EmulatorResponse>;

export function riscRoutes(ctx: EmulatorContext): Route[] {
  /** Stream API calls need a token with the RISC scope; `audience` is its project's client. */
  const streamApi = (method: string, pattern: string, handle: StreamApiHandler): Route => ({
    method,
    pattern,
    endpoint: 'risc',
    handle: (request) => {
      const token = authenticate(ctx, request);
      requireScope(token, [SCOPES.riscConfiguration], SERVICE);
      return handle(request, ctx.serviceAccounts.projectClientIdOf(token.owner) ?? token.clientId);
    },
  });
  return [
    {
      method: 'GET',
      pattern: '/.well-known/risc-configuration',
      endpoint: 'risc',
      handle: () => json(200, configuration(ctx.baseUrl())),
    },
    streamApi('POST', '/v1beta/stream:update', (request, audience) => updateStream(ctx, request, audience)),
    streamApi('GET', '/v1beta/stream', () => currentStream(ctx)),
    streamApi('POST', '/v1beta/stream:verify', (request) => verifyStream(ctx, request)),
    streamApi('POST', '/v1beta/subjects:add', () => json(200, {})),
    streamApi('POST', '/v1beta/subjects:remove', () => json(200, {})),
  ];
}

function configuration(baseUrl: string): Record<string, unknown> {
  return {
    issuer: RISC_ISSUER,
    jwks_uri: `${baseUrl}/oauth2/v3/certs`,
    delivery_methods_supported: [PUSH_DELIVERY_METHOD],
    add_subject_endpoint: `${baseUrl}/v1beta/subjects:add`,
    remove_subject_endpoint: `${baseUrl}/v1beta/subjects:remove`,
  };
}

function updateStream(ctx: EmulatorContext, request: EmulatorRequest, audience: string): EmulatorResponse {
  const body = jsonBody(request);
  const delivery = isRecord(body) && isRecord(body.delivery) ? body.delivery : undefined;
  if (delivery?.delivery_method !== PUSH_DELIVERY_METHOD) {
    return invalidArgument(`delivery.delivery_method must be ${PUSH_DELIVERY_METHOD}`);
  }
  if (typeof delivery.url !== 'string' || !URL.canParse(delivery.url)) {
    return invalidArgument('delivery.url must be an absolute URL');
  }
  const requested = isRecord(body) ? body.events_requested : undefined;
  if (!Array.isArray(requested) || !requested.every((type): type is string => typeof type === 'string')) {
    return invalidArgument('events_requested must be a list of event type URIs');
  }
  ctx.risc.update(audience, delivery.url, requested);
  return json(200, {});
}

function currentStream(ctx: EmulatorContext): EmulatorResponse {
  const config = ctx.risc.current();
  if (!config) return apiError(404, 'No stream configured.', { reason: 'notFound', status: 'NOT_FOUND' });
  const { lastDelivery: _emulatorOnly, ...googleShape } = config;
  return json(200, googleShape);
}

/** Pushes a verification event (carrying the caller's `state`) to the receiver, now. */
async function verifyStream(ctx: EmulatorContext, request: EmulatorRequest): Promise<EmulatorResponse> {
  const config = ctx.risc.current();
  if (!config) {
    return apiError(400, 'No stream configured.', { reason: 'failedPrecondition', status: 'FAILED_PRECONDITION' });
  }
  const body = jsonBody(request);
  const state = isRecord(body) && typeof body.state === 'string' ? body.state : undefined;
  const token = signSecurityEvent(
    ctx.keys,
    { aud: config.aud[0] ?? '', events: { [EVENT_TYPES.verification]: state === undefined ? {} : { state } } },
    unixSeconds(),
  );
  await ctx.risc.push(token, new Date(ctx.clock.nowMs()));
  return json(200, {});
}
