/**
 * Google's side of the browser flows, for the web app: a stand-in for the Google Identity
 * Services script (`GET /gsi/client`) and the popup it opens (`/o/oauth2/v2/auth`): an
 * account chooser, a consent page with one checkbox per requested scope, and a last page
 * that hands the result (an ID token, a code, or an error) to the opener through
 * `postMessage`, addressed to the opener's origin only — as GIS does.
 *
 * Codes come from the emulator's own grant machinery (bound to `redirect_uri=postmessage`),
 * ID tokens from its signing keys: the backend cannot tell these from the control API's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unixSeconds } from '../clock';
import type { EmulatorContext } from '../context';
import { formParams, raw, type EmulatorResponse } from '../http';
import type { RegisteredClient } from '../oauth/clients';
import { normalizeScopes, SCOPES } from '../oauth/scopes';
import { idTokenClaims, type UserProfile } from '../oauth/users';
import type { Route } from '../router';
import { accountFor, TEST_ACCOUNTS } from './accounts';

const GSI_CLIENT_SCRIPT = readFileSync(join(__dirname, 'gsi-client.js'), 'utf8');
const AUTH_PATH = '/o/oauth2/v2/auth';
/** Granted with any sign-in: Google shows them, but not as something to untick. */
const SIGN_IN_SCOPES: readonly string[] = [SCOPES.openid, SCOPES.email, SCOPES.profile];
const SCOPE_DESCRIPTIONS: Record<string, string> = {
  [SCOPES.openid]: 'Associate you with your personal info on Google',
  [SCOPES.email]: 'See your primary Google Account email address',
  [SCOPES.profile]: "See your personal info, including any personal info you've made publicly available",
  [SCOPES.driveAppdata]: 'See, create, and delete its own configuration data in your Google Drive',
  [SCOPES.drive]: 'See, edit, create, and delete all of your Google Drive files',
  [SCOPES.driveFile]: 'See, edit, create, and delete only the specific Google Drive files you use with this app',
  [SCOPES.driveReadonly]: 'See and download all your Google Drive files',
};

/** What the script asks the popup for; every page carries it on to the next. */
interface PopupRequest {
  clientId: string;
  responseType: 'code' | 'id_token';
  scopes: string[];
  /** The opener's origin: the only one the result is posted to. */
  origin: string;
  state: string;
  nonce?: string;
  loginHint?: string;
  prompt?: string;
}

type Parsed = { ok: PopupRequest; client: RegisteredClient } | { error: EmulatorResponse };

export function browserRoutes(ctx: EmulatorContext): Route[] {
  const route = (method: string, pattern: string, handle: Route['handle']): Route => ({
    method,
    pattern,
    endpoint: 'browser',
    handle,
  });
  return [
    route('GET', '/gsi/client', () =>
      raw(200, 'text/javascript; charset=utf-8', GSI_CLIENT_SCRIPT, {
        // Any site may load it, as it may load Google's.
        'access-control-allow-origin': '*',
        'cross-origin-resource-policy': 'cross-origin',
      }),
    ),
    route('GET', AUTH_PATH, (request) => {
      const parsed = parsePopupRequest(ctx, request.query);
      if ('error' in parsed) return parsed.error;
      const chosen = request.query.get('account') ?? parsed.ok.loginHint;
      if (!chosen) return chooserPage(parsed.ok);
      const account = accountFor(chosen);
      if (!account) return chooserPage(parsed.ok, `"${chosen}" is not an e-mail address`);
      return afterAccountChosen(ctx, parsed.ok, parsed.client, account);
    }),
    route('POST', `${AUTH_PATH}/approve`, (request) => {
      const form = formParams(request);
      const parsed = parsePopupRequest(ctx, form);
      if ('error' in parsed) return parsed.error;
      const popup = parsed.ok;
      if (form.get('decision') !== 'allow') {
        return resultPage(popup, { error: 'access_denied', error_description: 'The user denied the request.' });
      }
      const account = accountFor(form.get('account') ?? '');
      if (!account) return errorPage(400, 'invalid_request', 'No account was chosen.');
      const ticked = new Set(form.getAll('granted'));
      // Only scopes that were asked for can be granted, whatever the form says.
      const granted = popup.scopes.filter((scope) => SIGN_IN_SCOPES.includes(scope) || ticked.has(scope));
      return approve(ctx, popup, parsed.client, account, granted);
    }),
  ];
}

function parsePopupRequest(ctx: EmulatorContext, params: URLSearchParams): Parsed {
  const clientId = params.get('client_id') ?? '';
  const client = ctx.clients.get(clientId);
  if (!client) return { error: errorPage(401, 'invalid_client', 'The OAuth client was not found.') };
  const responseType = params.get('response_type');
  if (responseType !== 'code' && responseType !== 'id_token') {
    return { error: errorPage(400, 'unsupported_response_type', 'response_type must be code or id_token.') };
  }
  const origin = params.get('origin') ?? '';
  if (!isWebOrigin(origin)) {
    return { error: errorPage(400, 'origin_mismatch', 'The request does not name a valid JavaScript origin.') };
  }
  if (responseType === 'code') {
    const redirectUri = params.get('redirect_uri') ?? '';
    if (redirectUri !== 'postmessage' || !client.redirectUris.includes(redirectUri)) {
      return { error: errorPage(400, 'redirect_uri_mismatch', 'The popup code flow uses redirect_uri=postmessage.') };
    }
  }
  const scopes = normalizeScopes((params.get('scope') ?? '').split(/\s+/).filter(Boolean));
  if (!scopes.length) return { error: errorPage(400, 'invalid_request', 'Missing required parameter: scope') };
  const state = params.get('state') ?? '';
  if (!/^[\w-]{8,128}$/.test(state)) return { error: errorPage(400, 'invalid_request', 'Invalid state parameter.') };
  const optional = (name: string) => params.get(name) || undefined;
  return {
    client,
    ok: {
      clientId,
      responseType,
      scopes,
      origin,
      state,
      nonce: optional('nonce'),
      loginHint: optional('login_hint'),
      prompt: optional('prompt'),
    },
  };
}

function isWebOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

function afterAccountChosen(
  ctx: EmulatorContext,
  popup: PopupRequest,
  client: RegisteredClient,
  account: UserProfile,
): EmulatorResponse {
  if (popup.responseType === 'id_token') return approve(ctx, popup, client, account, [...SIGN_IN_SCOPES]);
  // As at Google: no consent page when everything asked for was granted before.
  const grant = ctx.grants.findGrant(client.clientId, account.sub);
  const granted = grant && popup.scopes.every((scope) => grant.scopes.includes(scope));
  if (granted && popup.prompt !== 'consent') return approve(ctx, popup, client, account, popup.scopes);
  return consentPage(popup, account);
}

function approve(
  ctx: EmulatorContext,
  popup: PopupRequest,
  client: RegisteredClient,
  account: UserProfile,
  granted: string[],
): EmulatorResponse {
  if (popup.responseType === 'id_token') {
    const claims = idTokenClaims({
      profile: account,
      scopes: granted,
      aud: client.clientId,
      azp: client.clientId,
      iatSeconds: unixSeconds(),
    });
    const credential = ctx.issued.add(ctx.keys.sign({ ...claims, ...(popup.nonce ? { nonce: popup.nonce } : {}) }));
    return resultPage(popup, { credential, select_by: 'btn', clientId: client.clientId });
  }
  const code = ctx.grants.authorize({
    clientId: client.clientId,
    profile: account,
    scopes: granted,
    azp: client.clientId,
    redirectUri: 'postmessage',
    forceConsent: popup.prompt === 'consent',
  });
  return resultPage(popup, { code, scope: granted.join(' '), authuser: '0', prompt: 'consent' });
}

/* ---------- pages ---------- */

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function hiddenFields(popup: PopupRequest): string {
  const fields: Record<string, string | undefined> = {
    client_id: popup.clientId,
    response_type: popup.responseType,
    scope: popup.scopes.join(' '),
    origin: popup.origin,
    state: popup.state,
    nonce: popup.nonce,
    prompt: popup.prompt,
    ...(popup.responseType === 'code' ? { redirect_uri: 'postmessage' } : {}),
  };
  return Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
    .join('');
}

function page(title: string, content: string, status = 200): EmulatorResponse {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f0f4f9;color:#1f1f1f}
main{max-width:420px;margin:24px auto;background:#fff;border-radius:16px;padding:24px 28px}
h1{font-size:22px;font-weight:400;margin:8px 0 4px} .sub{color:#444;margin:0 0 16px}
.banner{font-size:12px;color:#a50e0e;background:#fce8e6;border-radius:8px;padding:6px 10px;margin-bottom:12px}
.account{display:block;width:100%;text-align:left;background:none;border:0;border-bottom:1px solid #ddd;padding:10px 4px;cursor:pointer;font:inherit}
.account:hover{background:#f5f5f5} .account small{display:block;color:#555}
input[type=email]{width:100%;box-sizing:border-box;padding:10px;font:inherit;border:1px solid #888;border-radius:4px}
label.scope{display:flex;gap:10px;align-items:flex-start;padding:8px 0;border-bottom:1px solid #eee}
.actions{display:flex;justify-content:flex-end;gap:12px;margin-top:18px}
button.primary{background:#0b57d0;color:#fff;border:0;border-radius:20px;padding:9px 22px;font:inherit;cursor:pointer}
button.secondary{background:none;color:#0b57d0;border:0;padding:9px 12px;font:inherit;cursor:pointer}
.error{color:#a50e0e}
</style></head>
<body><main><div class="banner">Google emulator — test accounts only</div>${content}</main></body></html>`;
  return raw(status, 'text/html; charset=utf-8', html, {
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'",
  });
}

function chooserPage(popup: PopupRequest, problem?: string): EmulatorResponse {
  const accounts = TEST_ACCOUNTS.map(
    (account) =>
      `<button class="account" type="submit" name="account" value="${escapeHtml(account.email)}">${escapeHtml(account.name)}<small>${escapeHtml(account.email)}</small></button>`,
  ).join('');
  return page(
    'Sign in - Google Accounts',
    `<h1>Choose an account</h1><p class="sub">to continue to <b>${escapeHtml(popup.origin)}</b></p>
<form method="get" action="${AUTH_PATH}">${hiddenFields(popup)}${accounts}</form>
<form method="get" action="${AUTH_PATH}" style="margin-top:16px">${hiddenFields(popup)}
<label for="email">Use another account</label>
<input id="email" type="email" name="account" placeholder="Email" autocomplete="off" required>
${problem ? `<p class="error">${escapeHtml(problem)}</p>` : ''}
<div class="actions"><button class="primary" type="submit">Next</button></div></form>
<form method="post" action="${AUTH_PATH}/approve">${hiddenFields(popup)}
<div class="actions"><button class="secondary" type="submit" name="decision" value="deny">Cancel</button></div></form>`,
  );
}

function consentPage(popup: PopupRequest, account: UserProfile): EmulatorResponse {
  const scopes = popup.scopes
    .map((scope) => {
      const description = escapeHtml(SCOPE_DESCRIPTIONS[scope] ?? scope);
      // Sign-in scopes are shown ticked and fixed (a disabled box is not submitted: Google grants them anyway).
      const fixed = SIGN_IN_SCOPES.includes(scope);
      return `<label class="scope"><input type="checkbox" name="granted" value="${escapeHtml(scope)}" checked${fixed ? ' disabled' : ''}><span>${description}<small style="display:block;color:#777">${escapeHtml(scope)}</small></span></label>`;
    })
    .join('');
  return page(
    'Sign in - Google Accounts',
    `<h1>${escapeHtml(popup.origin)} wants access to your Google Account</h1>
<p class="sub">${escapeHtml(account.name)} · ${escapeHtml(account.email)}</p>
<form method="post" action="${AUTH_PATH}/approve">${hiddenFields(popup)}
<input type="hidden" name="account" value="${escapeHtml(account.email)}">
<p>Select what ${escapeHtml(popup.origin)} can access:</p>${scopes}
<div class="actions"><button class="secondary" type="submit" name="decision" value="deny">Cancel</button>
<button class="primary" type="submit" name="decision" value="allow">Allow</button></div></form>`,
  );
}

/** The last page: posts the result to the opener, addressed to its origin only, and closes. */
function resultPage(popup: PopupRequest, response: Record<string, string>): EmulatorResponse {
  const message = { type: 'gis-emulator-response', state: popup.state, response };
  // `<` escaped so nothing in the data can close the script element.
  const data = JSON.stringify({ message, origin: popup.origin }).replace(/</g, '\\u003c');
  return page(
    'Signing in…',
    `<p>Returning to the app…</p>
<script>(function(){var d=${data};if(window.opener){window.opener.postMessage(d.message,d.origin);}setTimeout(function(){window.close();},50);})();</script>`,
  );
}

function errorPage(status: number, error: string, description: string): EmulatorResponse {
  return page(
    'Error',
    `<h1>Access blocked: this request is invalid</h1><p class="error">Error ${status}: ${escapeHtml(error)}</p><p>${escapeHtml(description)}</p>`,
    status,
  );
}
