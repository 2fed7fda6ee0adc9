/*
 * The web app's side of Google offline access, exactly as it runs in production: Google
 * Identity Services signs the user in (an ID token, kept in this closure only, for
 * GET /connection and POST /disconnect) and, separately, asks for offline access with the popup
 * code client; the one-time code goes straight to POST /authcode. No token, code or secret is
 * ever shown or stored (no localStorage, no cookies, nothing in the URL).
 * The three settings that differ between local and production come from config.js.
 */
(() => {
  'use strict';
  const config = window.APP_CONFIG;
  const SCOPES = 'openid email profile https://www.googleapis.com/auth/drive.appdata';
  /** What to tell the user for each reason of GET /connection (and POST /authcode). */
  const REASONS = {
    no_refresh_token: 'Google did not grant offline access. Connect again and approve the consent screen.',
    missing_scopes: 'You did not allow access to your Drive app data. Connect again and tick it.',
    revoked: 'Access was removed at Google. Connect again to restore it.',
    testing_mode_expiry: 'Access expired (the app is in testing at Google). Connect again.',
    reauth_required: 'Your organization asks you to sign in again. Connect again.',
    admin_policy: 'Your Google Workspace administrator does not allow this app.',
    account_disabled: 'Your Google account was disabled.',
    user_disconnected: 'You disconnected Google Drive. Connect again whenever you like.',
  };
  /** Reasons the user can fix by connecting again. */
  const ASK_AGAIN = new Set([
    'no_refresh_token',
    'missing_scopes',
    'revoked',
    'testing_mode_expiry',
    'reauth_required',
    'user_disconnected',
  ]);

  let idToken = null; // in memory only
  let user = null;
  const $ = (id) => document.getElementById(id);

  function say(text, kind = '') {
    $('message').textContent = text;
    $('message').className = kind;
  }

  function loadGoogleIdentityServices() {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = config.gisScriptUrl;
      script.async = true;
      script.onload = resolve;
      script.onerror = () => reject(new Error('Google Identity Services could not be loaded'));
      document.head.appendChild(script);
    });
  }

  class ApiError extends Error {
    constructor(status, error, message) {
      super(message);
      this.status = status; // 0: the API could not be reached
      this.error = error;
    }
  }

  /** Calls our API with the ID token as bearer (once signed in). @throws ApiError */
  async function callApi(method, path, body) {
    const headers = { 'X-Requested-With': 'XMLHttpRequest' };
    if (body) headers['Content-Type'] = 'application/json';
    if (idToken) headers.Authorization = `Bearer ${idToken}`;
    let response;
    try {
      response = await fetch(`${config.apiUrl}${path}`, {
        method,
        headers,
        body: body ? JSON.stringify(body) : undefined,
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(
        0,
        'unreachable',
        'Could not reach the API (offline, or this site is not allowed to call it).',
      );
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data.error, data.message ?? `HTTP ${response.status}`);
    return data;
  }

  /** The ID token's claims, for showing who is signed in (its signature is our API's business). */
  function claimsOf(jwt) {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  /* ---- Sign In With Google: authentication ---- */

  function onCredential({ credential }) {
    idToken = credential;
    const claims = claimsOf(credential);
    user = { name: claims.name ?? claims.email ?? claims.sub, email: claims.email ?? '' };
    $('user-name').textContent = user.name;
    $('user-email').textContent = user.email;
    $('signed-out').hidden = true;
    $('signed-in').hidden = false;
    say('');
    void loadConnection();
  }

  function signOut() {
    idToken = null;
    user = null;
    google.accounts.id.disableAutoSelect();
    $('signed-in').hidden = true;
    $('signed-out').hidden = false;
    $('answer-box').hidden = true;
    say('Signed out.');
  }

  /* ---- the code client: authorization for offline access ---- */

  function connect() {
    const codeClient = google.accounts.oauth2.initCodeClient({
      client_id: config.clientId,
      scope: SCOPES,
      ux_mode: 'popup',
      login_hint: user?.email,
      callback: onCode,
      error_callback: ({ type }) =>
        say(
          type === 'popup_closed'
            ? 'The Google window was closed before you finished. Nothing was changed.'
            : 'The Google window could not be opened (allow pop-ups for this site).',
          'error',
        ),
    });
    codeClient.requestCode();
  }

  async function onCode(response) {
    if (response.error) {
      const text =
        response.error === 'access_denied'
          ? 'No problem: you did not allow access, so nothing was stored. You can connect any time.'
          : `Google did not grant access (${response.error}).`;
      return say(text, 'error');
    }
    say('Connecting…');
    try {
      // The code goes to our server once, in the body; it is never shown or kept here.
      const answer = await callApi('POST', '/authcode', { authCode: response.code, redirectUri: 'postmessage' });
      $('answer').textContent = JSON.stringify(answer, null, 2);
      $('answer-box').hidden = false;
      if (answer.offlineAccess) say('Connected: offline access is on.', 'ok');
      else say(REASONS[answer.reason] ?? 'Offline access is not on yet.', 'error');
      await loadConnection();
    } catch (error) {
      say(`Connecting failed: ${error.message}`, 'error');
    }
  }

  /* ---- GET /connection and POST /disconnect ---- */

  const list = (values) => (values?.length ? values.join('\n') : '—');
  const when = (iso) => new Date(iso).toLocaleString();

  function showConnection(connection) {
    const { status, reason, jobs = {} } = connection;
    $('status').textContent = status.replace('_', ' ');
    $('status').className = `status-${status}`;
    $('reason').textContent = reason ? (REASONS[reason] ?? reason) : '—';
    $('reason').dataset.reason = reason ?? '';
    $('granted-scopes').textContent = list(connection.grantedScopes);
    $('missing-scopes').textContent = list(connection.missingScopes);
    $('last-refresh').textContent = connection.lastRefreshAt ? when(connection.lastRefreshAt) : 'not yet';
    const names = Object.keys(jobs);
    $('jobs').textContent = names.length
      ? names.map((name) => `${name}: ${jobs[name].status} at ${when(jobs[name].at)}`).join('\n')
      : 'none yet';
    const askAgain = status === 'not_connected' || ASK_AGAIN.has(reason);
    $('connect').hidden = !askAgain;
    $('connect').textContent = status === 'not_connected' ? 'Connect Google Drive' : 'Connect again';
    $('disconnect').hidden = status !== 'active' && status !== 'needs_reconnect';
  }

  async function loadConnection() {
    try {
      showConnection(await callApi('GET', '/connection'));
    } catch (error) {
      if (error.status === 401) {
        // The ID token expired (they last an hour): sign in again for a fresh one.
        signOut();
        return say('Your sign-in has expired: please sign in again.', 'error');
      }
      $('status').textContent = 'unknown';
      say(error.message, 'error');
    }
  }

  async function disconnect() {
    try {
      await callApi('POST', '/disconnect');
      say('Disconnected: Google access was revoked and nothing is kept on our servers.', 'ok');
      await loadConnection();
    } catch (error) {
      say(`Disconnecting failed: ${error.message}`, 'error');
    }
  }

  /* ---- start ---- */

  $('connect').addEventListener('click', connect);
  $('reload').addEventListener('click', () => void loadConnection());
  $('disconnect').addEventListener('click', () => void disconnect());
  $('sign-out').addEventListener('click', signOut);

  loadGoogleIdentityServices().then(
    () => {
      google.accounts.id.initialize({ client_id: config.clientId, callback: onCredential, auto_select: false });
      google.accounts.id.renderButton($('gsi-button'), { type: 'standard', text: 'signin_with', shape: 'pill' });
    },
    (error) => say(error.message, 'error'),
  );
})();
