/** Route table: `/a/:param/b` patterns, matched by method and path. */
import { safeDecode, type EmulatorRequest, type EmulatorResponse } from './http';
import type { GoogleEndpoint, RequestFacts } from './request-log';

export interface Route {
  method: string;
  /** Segments starting with `:` capture; `stream:update` style segments are literal. */
  pattern: string;
  /** Google endpoints are logged and can be faulted; control and browser (sign-in pages) routes are neither. */
  endpoint: GoogleEndpoint | 'control' | 'browser';
  /** Who the request concerns, read before handling (a code is still unredeemed here). */
  describe?: (request: EmulatorRequest) => RequestFacts;
  handle: (request: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;
}

export type RouteMatch =
  { kind: 'found'; route: Route; params: Record<string, string> } | { kind: 'wrongMethod' } | { kind: 'none' };

export class Router {
  constructor(private readonly routes: readonly Route[]) {}

  match(method: string, path: string): RouteMatch {
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchPattern(route.pattern, path);
      if (!params) continue;
      if (route.method === method) return { kind: 'found', route, params };
      pathMatched = true;
    }
    return pathMatched ? { kind: 'wrongMethod' } : { kind: 'none' };
  }
}

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const expected = pattern.split('/');
  const actual = path.split('/');
  if (expected.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of expected.entries()) {
    const value = actual[index] ?? '';
    if (segment.startsWith(':') && value) params[segment.slice(1)] = safeDecode(value);
    else if (segment !== value) return undefined;
  }
  return params;
}
