/**
 * Drive v3 changes at Google's paths: `changes.getStartPageToken`, `changes.list` (spaces,
 * paging, fields; a page token from before an expiry answers 400 Invalid Value, as an old
 * Google token does), `changes.watch` (a push channel, see push.ts) and `channels.stop`.
 * A page token is a position in the user's change log: it stays the same while nothing
 * changes, so polling an idle Drive hands back the very token it was given.
 */
import { authenticate, requireScope } from '../access-tokens';
import type { EmulatorContext } from '../context';
import {
  isRecord,
  json,
  jsonBody,
  ResponseError,
  apiError,
  type EmulatorRequest,
  type EmulatorResponse,
} from '../http';
import type { Route } from '../router';
import { applyFieldMask, parseFieldMask } from './field-mask';
import { DEFAULT_CHANNEL_LIFETIME_MS, MAX_CHANNEL_LIFETIME_MS } from './push';
import {
  ALL_DRIVE_SCOPES,
  driveRoute,
  fieldsOf,
  invalidValue,
  parsed,
  parsePageSize,
  parseSpaces,
  SERVICE,
  SPACE_SCOPES,
} from './routes';
import { toResource, type FileChange, type UserDrive } from './store';

const DEFAULT_CHANGE_FIELDS = parseFieldMask(
  'kind,nextPageToken,newStartPageToken,changes(kind,changeType,time,removed,fileId,file(kind,id,name,mimeType))',
);

export function driveChangeRoutes(ctx: EmulatorContext): Route[] {
  return [
    driveRoute(ctx, 'GET', '/drive/v3/changes/startPageToken', (request) => startPageToken(ctx, request)),
    driveRoute(ctx, 'GET', '/drive/v3/changes', (request) => listChanges(ctx, request)),
    driveRoute(ctx, 'POST', '/drive/v3/changes/watch', (request) => watchChanges(ctx, request)),
    driveRoute(ctx, 'POST', '/drive/v3/channels/stop', (request) => stopChannel(ctx, request)),
  ];
}

function startPageToken(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const token = authenticate(ctx, request);
  requireScope(token, ALL_DRIVE_SCOPES, SERVICE);
  const drive = ctx.drive.of(token.owner);
  return json(200, { kind: 'drive#startPageToken', startPageToken: encodePageToken(drive, drive.changeLogEnd) });
}

function listChanges(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const token = authenticate(ctx, request);
  const spaces = parseSpaces(request.query.get('spaces'));
  spaces.forEach((space) => requireScope(token, SPACE_SCOPES[space].read, SERVICE));
  const drive = ctx.drive.of(token.owner);
  const from = requirePageToken(drive, request.query.get('pageToken'));
  const pageSize = parsePageSize(request.query.get('pageSize'));
  const includeRemoved = request.query.get('includeRemoved') !== 'false';

  const matching = drive
    .changesSince(from)
    .filter((change) => spaces.includes(change.space) && (includeRemoved || !change.removed));
  const page = matching.slice(0, pageSize);
  const more = matching.length > pageSize;
  const body = {
    kind: 'drive#changeList',
    ...(more
      ? { nextPageToken: encodePageToken(drive, page[page.length - 1]!.sequence + 1) }
      : { newStartPageToken: encodePageToken(drive, drive.changeLogEnd) }),
    changes: page.map(toChangeResource),
  };
  return json(200, applyFieldMask(body, fieldsOf(request, DEFAULT_CHANGE_FIELDS)));
}

function watchChanges(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const token = authenticate(ctx, request);
  const spaces = parseSpaces(request.query.get('spaces'));
  spaces.forEach((space) => requireScope(token, SPACE_SCOPES[space].read, SERVICE));
  const drive = ctx.drive.of(token.owner);
  requirePageToken(drive, request.query.get('pageToken'));
  const body = jsonBody(request);
  const channel = isRecord(body) ? body : {};
  const id = stringField(channel, 'id');
  const address = stringField(channel, 'address');
  if (!id || id.length > 64) throw new ResponseError(invalidValue('id'));
  if (channel.type !== 'web_hook' && channel.type !== 'webhook') throw new ResponseError(invalidValue('type'));
  if (!address || !/^https?:\/\//.test(address)) throw new ResponseError(invalidValue('address'));
  const now = ctx.clock.nowMs();
  const requested = channel.expiration === undefined ? undefined : Number(channel.expiration);
  if (requested !== undefined && !Number.isFinite(requested)) throw new ResponseError(invalidValue('expiration'));
  const expirationMs = Math.min(requested ?? now + DEFAULT_CHANNEL_LIFETIME_MS, now + MAX_CHANNEL_LIFETIME_MS);
  const tokenValue = stringField(channel, 'token');
  let opened;
  try {
    opened = ctx.push.open({
      id,
      address,
      owner: token.owner,
      spaces,
      expirationMs,
      resourceUri: `${ctx.baseUrl()}/drive/v3/changes?alt=json&spaces=${spaces.join(',')}`,
      ...(tokenValue !== undefined ? { token: tokenValue } : {}),
    });
  } catch (error) {
    if (error instanceof RangeError)
      throw new ResponseError(
        apiError(400, error.message, { reason: 'channelIdNotUnique', status: 'INVALID_ARGUMENT' }),
      );
    throw error;
  }
  return json(200, {
    kind: 'api#channel',
    id: opened.id,
    resourceId: opened.resourceId,
    resourceUri: opened.resourceUri,
    ...(opened.token !== undefined ? { token: opened.token } : {}),
    expiration: String(opened.expirationMs),
  });
}

function stopChannel(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const token = authenticate(ctx, request);
  requireScope(token, ALL_DRIVE_SCOPES, SERVICE);
  const body = jsonBody(request);
  const channel = isRecord(body) ? body : {};
  const id = stringField(channel, 'id') ?? '';
  if (!ctx.push.stop(id, stringField(channel, 'resourceId') ?? '', token.owner)) {
    throw new ResponseError(
      apiError(404, `Channel '${id}' not found for project`, { reason: 'notFound', status: 'NOT_FOUND' }),
    );
  }
  return { status: 204, body: undefined };
}

function toChangeResource(change: FileChange): Record<string, unknown> {
  return {
    kind: 'drive#change',
    changeType: 'file',
    time: new Date(change.timeMs).toISOString(),
    removed: change.removed,
    fileId: change.fileId,
    ...(change.file ? { file: toResource(change.file) } : {}),
  };
}

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' ? value : undefined;
}

/** A page token carries its position and the expiry epoch it was minted in. */
function encodePageToken(drive: UserDrive, position: number): string {
  return Buffer.from(JSON.stringify({ c: position, e: drive.pageTokenEpoch })).toString('base64url');
}

/** The position a page token points at. @throws 400 Invalid Value when absent, malformed or expired. */
function requirePageToken(drive: UserDrive, value: string | null): number {
  if (!value)
    throw new ResponseError(
      apiError(400, "The 'pageToken' parameter is required.", {
        reason: 'required',
        status: 'INVALID_ARGUMENT',
        location: 'pageToken',
      }),
    );
  const decoded = parsed(
    () => JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown,
    SyntaxError,
    'pageToken',
  );
  if (
    !isRecord(decoded) ||
    typeof decoded.c !== 'number' ||
    decoded.c < 0 ||
    decoded.c > drive.changeLogEnd ||
    decoded.e !== drive.pageTokenEpoch
  ) {
    throw new ResponseError(invalidValue('pageToken'));
  }
  return decoded.c;
}
