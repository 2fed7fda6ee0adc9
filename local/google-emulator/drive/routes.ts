/**
 * Drive v3 at Google's paths: files.list (spaces, q, orderBy, paging, fields),
 * files.get (including the `appDataFolder` alias), files.create with metadata only,
 * and media / multipart uploads. Each bearer sees only its own user's files.
 */
import { authenticate, requireScope } from '../access-tokens';
import type { EmulatorContext } from '../context';
import {
  apiError,
  bearerToken,
  isRecord,
  json,
  jsonBody,
  ResponseError,
  type EmulatorRequest,
  type EmulatorResponse,
} from '../http';
import { SCOPES } from '../oauth/scopes';
import type { RequestFacts } from '../request-log';
import type { Route } from '../router';
import { applyFieldMask, FieldMaskSyntaxError, parseFieldMask, type FieldMask } from './field-mask';
import { boundaryOf, MultipartSyntaxError, parseMultipart } from './multipart';
import { parseQuery, QuerySyntaxError } from './query';
import { ParentNotFoundError, toResource, type DriveSpace, type StoredFile } from './store';

export const SERVICE = 'drive.googleapis.com';
export const ALL_DRIVE_SCOPES = [SCOPES.drive, SCOPES.driveAppdata, SCOPES.driveFile, SCOPES.driveReadonly];
export const SPACE_SCOPES: Record<DriveSpace, { read: string[]; write: string[] }> = {
  appDataFolder: { read: [SCOPES.drive, SCOPES.driveAppdata], write: [SCOPES.drive, SCOPES.driveAppdata] },
  drive: { read: [SCOPES.drive, SCOPES.driveFile, SCOPES.driveReadonly], write: [SCOPES.drive, SCOPES.driveFile] },
};
const DEFAULT_FILE_FIELDS = parseFieldMask('kind,id,name,mimeType');
const DEFAULT_LIST_FIELDS = parseFieldMask('kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)');
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const ORDER_KEYS: Record<string, (file: StoredFile) => number | string> = {
  createdTime: (file) => file.createdMs,
  modifiedTime: (file) => file.modifiedMs,
  name: (file) => file.name,
};

/** A Drive route: logged and faultable as `drive`, attributed to the bearer's user. */
export function driveRoute(ctx: EmulatorContext, method: string, pattern: string, handle: Route['handle']): Route {
  return { method, pattern, endpoint: 'drive', describe: (request) => describeDriveRequest(ctx, request), handle };
}

export function driveRoutes(ctx: EmulatorContext): Route[] {
  const route = (method: string, pattern: string, handle: Route['handle']): Route =>
    driveRoute(ctx, method, pattern, handle);
  return [
    route('GET', '/drive/v3/files', (request) => listFiles(ctx, request)),
    route('POST', '/drive/v3/files', (request) => createFile(ctx, request)),
    route('GET', '/drive/v3/files/:fileId', (request) => getFile(ctx, request)),
    route('DELETE', '/drive/v3/files/:fileId', (request) => deleteFile(ctx, request)),
    route('POST', '/upload/drive/v3/files', (request) => uploadFile(ctx, request)),
  ];
}

function describeDriveRequest(ctx: EmulatorContext, request: EmulatorRequest): RequestFacts {
  const token = bearerToken(request) ?? '';
  const record = ctx.grants.findAccessToken(token);
  return {
    sub: record?.kind === 'user' ? record.owner : undefined,
    clientId: record?.clientId,
    freshToken: ctx.grants.isNewestAccessToken(token),
  };
}

function listFiles(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const token = authenticate(ctx, request);
  const spaces = parseSpaces(request.query.get('spaces'));
  spaces.forEach((space) => requireScope(token, SPACE_SCOPES[space].read, SERVICE));
  const drive = ctx.drive.of(token.owner);

  let files = drive.list(spaces);
  const q = request.query.get('q');
  if (q) files = files.filter(parsed(() => parseQuery(q, (id) => drive.get(id)?.id ?? id), QuerySyntaxError, 'q'));
  files = sortFiles(files, request.query.get('orderBy'));

  const pageSize = parsePageSize(request.query.get('pageSize'));
  const offset = parsePageToken(request.query.get('pageToken'));
  const next = offset + pageSize < files.length ? encodePageToken(offset + pageSize) : undefined;
  const body = {
    kind: 'drive#fileList',
    ...(next ? { nextPageToken: next } : {}),
    incompleteSearch: false,
    files: files.slice(offset, offset + pageSize).map(toResource),
  };
  return json(200, applyFieldMask(body, fieldsOf(request, DEFAULT_LIST_FIELDS)));
}

function getFile(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const token = authenticate(ctx, request);
  requireScope(token, ALL_DRIVE_SCOPES, SERVICE);
  const fileId = request.params.fileId ?? '';
  const file = ctx.drive.of(token.owner).get(fileId);
  if (!file) throw new ResponseError(fileNotFound(fileId));
  requireScope(token, SPACE_SCOPES[file.space].read, SERVICE);
  return fileResponse(request, file);
}

function deleteFile(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const token = authenticate(ctx, request);
  const fileId = request.params.fileId ?? '';
  const drive = ctx.drive.of(token.owner);
  const file = drive.get(fileId);
  if (!file || file === drive.root || file === drive.appData) throw new ResponseError(fileNotFound(fileId));
  requireScope(token, SPACE_SCOPES[file.space].write, SERVICE);
  drive.delete(file.id);
  return { status: 204, body: undefined };
}

function createFile(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const metadata = jsonBody(request);
  return storeFile(ctx, request, isRecord(metadata) ? metadata : {}, { size: 0 });
}

function uploadFile(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const uploadType = request.query.get('uploadType');
  if (uploadType === 'media') {
    return storeFile(ctx, request, {}, { size: request.body.length, mimeType: request.headers['content-type'] });
  }
  if (uploadType !== 'multipart') throw new ResponseError(invalidValue('uploadType'));
  const boundary = boundaryOf(request.headers['content-type']);
  if (!boundary) throw new ResponseError(invalidValue('Content-Type', 'Invalid multipart request: no boundary.'));
  const [metadataPart, mediaPart] = parsed(() => parseMultipart(request.body, boundary), MultipartSyntaxError, 'body');
  if (!metadataPart || !mediaPart) throw new ResponseError(invalidValue('body', 'Invalid multipart request.'));
  const metadata = parsed(() => JSON.parse(metadataPart.body.toString('utf8')) as unknown, SyntaxError, 'body');
  const media = { size: mediaPart.body.length, mimeType: mediaPart.headers['content-type'] };
  return storeFile(ctx, request, isRecord(metadata) ? metadata : {}, media);
}

function storeFile(
  ctx: EmulatorContext,
  request: EmulatorRequest,
  metadata: Record<string, unknown>,
  media: { size: number; mimeType?: string },
): EmulatorResponse {
  const token = authenticate(ctx, request);
  const drive = ctx.drive.of(token.owner);
  const parentId = parentOf(metadata);
  const parent = drive.get(parentId);
  if (!parent) throw new ResponseError(fileNotFound(parentId));
  requireScope(token, SPACE_SCOPES[parent.space].write, SERVICE);
  try {
    const file = drive.create({
      name: typeof metadata.name === 'string' ? metadata.name : 'Untitled',
      mimeType:
        typeof metadata.mimeType === 'string' ? metadata.mimeType : (media.mimeType ?? 'application/octet-stream'),
      parentId,
      size: media.size,
      modifiedMs: parseModifiedTime(metadata.modifiedTime),
    });
    return fileResponse(request, file);
  } catch (error) {
    if (error instanceof ParentNotFoundError) throw new ResponseError(fileNotFound(error.parentId));
    throw error;
  }
}

function fileResponse(request: EmulatorRequest, file: StoredFile): EmulatorResponse {
  return json(200, applyFieldMask(toResource(file), fieldsOf(request, DEFAULT_FILE_FIELDS)));
}

function parentOf(metadata: Record<string, unknown>): string {
  const { parents } = metadata;
  if (parents === undefined) return 'root';
  // Drive v3 files have exactly one parent.
  if (!Array.isArray(parents) || parents.length !== 1 || typeof parents[0] !== 'string') {
    throw new ResponseError(invalidValue('parents'));
  }
  return parents[0];
}

function parseModifiedTime(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const time = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) throw new ResponseError(invalidValue('modifiedTime'));
  return time;
}

export function parseSpaces(value: string | null): DriveSpace[] {
  const spaces = (value ?? 'drive').split(',').map((space) => space.trim());
  if (!spaces.every((space): space is DriveSpace => space === 'drive' || space === 'appDataFolder')) {
    throw new ResponseError(invalidValue('spaces'));
  }
  return spaces;
}

export function parsePageSize(value: string | null): number {
  if (value === null) return DEFAULT_PAGE_SIZE;
  const size = Number(value);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new ResponseError(
      invalidValue('pageSize', `Invalid value '${value}'. Values must be within the range: [1, ${MAX_PAGE_SIZE}]`),
    );
  }
  return size;
}

/** Page tokens are opaque to clients; here they carry the offset of the next page. */
function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function parsePageToken(value: string | null): number {
  if (value === null) return 0;
  const decoded = parsed(
    () => JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown,
    SyntaxError,
    'pageToken',
  );
  if (!isRecord(decoded) || typeof decoded.offset !== 'number' || decoded.offset < 0) {
    throw new ResponseError(invalidValue('pageToken'));
  }
  return decoded.offset;
}

function sortFiles(files: StoredFile[], orderBy: string | null): StoredFile[] {
  const keys = (orderBy ?? '')
    .split(',')
    .map((part) => part.trim().split(/\s+/))
    .filter(([name]) => name);
  const comparators = keys.map(([name = '', direction]) => {
    const key = ORDER_KEYS[name];
    if (!key || (direction !== undefined && direction !== 'asc' && direction !== 'desc')) {
      throw new ResponseError(invalidValue('orderBy'));
    }
    const sign = direction === 'desc' ? -1 : 1;
    return (a: StoredFile, b: StoredFile): number => {
      const [x, y] = [key(a), key(b)];
      return x < y ? -sign : x > y ? sign : 0;
    };
  });
  return [...files].sort(
    (a, b) => comparators.reduce((result, compare) => result || compare(a, b), 0) || a.sequence - b.sequence,
  );
}

export function fieldsOf(request: EmulatorRequest, fallback: FieldMask): FieldMask {
  const fields = request.query.get('fields');
  return fields ? parsed(() => parseFieldMask(fields), FieldMaskSyntaxError, 'fields') : fallback;
}

/** Runs a parser, turning its syntax error into Drive's 400 Invalid Value for `location`. */
export function parsed<T>(parse: () => T, syntaxError: new (...args: never[]) => Error, location: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof syntaxError) throw new ResponseError(invalidValue(location));
    throw error;
  }
}

export function invalidValue(location: string, message = 'Invalid Value'): EmulatorResponse {
  return apiError(400, message, { reason: 'invalid', status: 'INVALID_ARGUMENT', location });
}

function fileNotFound(fileId: string): EmulatorResponse {
  const message = `File not found: ${fileId}.`;
  return apiError(404, message, { reason: 'notFound', status: 'NOT_FOUND', location: 'fileId' });
}
