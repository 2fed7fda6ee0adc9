/**
 * Serves the example web app (`web/`) on its own origin, as a static host would in
 * production. Only `config.js` differs: it is generated here, pointing the page at the Google
 * emulator's stand-in for the Google Identity Services script, the local client ID and the
 * local API. The response headers are what we advise for production (see README).
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { listenOnLoopback, type LocalService } from './aws/local-service';

const WEB_ROOT = resolve(__dirname, '..', 'web');
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** The three settings that differ between local and production (web/config.js). */
export interface WebAppConfig {
  gisScriptUrl: string;
  clientId: string;
  apiUrl: string;
}

export interface WebServer extends LocalService {
  port: number;
}

/** `config` is read per request, so the API may start after the page's server (its CORS needs this origin). */
export async function startWebServer(config: () => WebAppConfig, options: { port?: number } = {}): Promise<WebServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    request.resume();
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const current = config();
    const headers = securityHeaders(current);
    if (path === '/config.js') {
      response
        .writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' })
        .end(`window.APP_CONFIG = ${JSON.stringify(current, null, 2)};\n`);
      return;
    }
    const entry = FILES[path];
    if (!entry) {
      response.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    readFile(join(WEB_ROOT, entry.file)).then(
      (body) => response.writeHead(200, { ...headers, 'content-type': entry.type }).end(body),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('Cannot read the page'),
    );
  });
  const service = await listenOnLoopback(server, options.port ?? 3001);
  return { ...service, port: Number(new URL(service.url).port) };
}

/**
 * Scripts only from this origin and GIS; API calls only to the API; the popup keeps its
 * `window.opener` (GIS needs `same-origin-allow-popups`); no caching of the page's state.
 */
function securityHeaders(config: WebAppConfig): Record<string, string> {
  const gis = new URL(config.gisScriptUrl).origin;
  const api = new URL(config.apiUrl).origin;
  return {
    'content-security-policy': [
      "default-src 'self'",
      `script-src 'self' ${gis}`,
      `connect-src 'self' ${api} ${gis}`,
      `frame-src ${gis}`,
      `style-src 'self' 'unsafe-inline' ${gis}`,
      "img-src 'self' data: https:",
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; '),
    'cross-origin-opener-policy': 'same-origin-allow-popups',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
}
