/*
 * The web app's side of Google offline access, exactly as it runs in production: Google
 * Identity Services signs the user in (an ID token, kept in this closure only, for
 * /connection and /disconnect) and, separately, asks for offline access with the popup code
 * client; the one-time code goes straight to POST /authcode. No token, code or secret is
 * ever shown or stored (no localStorage, no cookies, nothing in the URL).
 * Configuration (script URL, client ID, API URL) comes from config.js.
 */
(function () {
  'use strict';
  var config = window.APP_CONFIG;
  var SCOPES = 'openid email profile https://www.googleapis.com/auth/drive.appdata';
  var REASONS = {
    no_refresh_token: 'Google did not grant offline access. Connect again and approve the consent screen.',
    missing_scopes: 'You did not allow access to your Drive app data. Connect again and tick it.',
    revoked: 'Access was removed at Google. Connect again to restore it.',
    testing_mode_expiry: 'Access expired (the app is in testing at Google). Connect again.',
    reauth_required: 'Your organization asks you to sign in again. Connect again.',
    admin_policy: 'Your Google Workspace administrator does not allow this app.',
    account_disabled: 'Your Google account was disabled.',
    user_disconnected: 'You disconnected Google Drive. Connect again whenever you like.',
  };
  var ASK_AGAIN = [
    'no_refresh_token',
    'missing_scopes',
    'revoked',
    'testing_mode_expiry',
    'reauth_required',
    'user_disconnected',
  ];

  var idToken = null; // in memory only
  var user = null;
  var $ = function (id) {
    return document.getElementById(id);
  };

  function say(text, kind) {
    $('message').textContent = text;
    $('message').className = kind || '';
  }

  function loadGoogleIdentityServices() {
    return new Promise(function (resolve, reject) {
      var script = document.createElement('script');
      script.src = config.gisScriptUrl;
      script.async = true;
      script.onload = resolve;
      script.onerror = function () {
        reject(new Error('Google Identity Services could not be loaded'));
      };
      document.head.appendChild(script);
    });
  }

  /** Calls our API; rejects with { status, error, message } (status 0 when it could not be reached). */
  function callApi(method, path, body) {
    var headers = { 'X-Requested-With': 'XMLHttpRequest' };
    if (body) headers['Content-Type'] = 'application/json';
    if (idToken && path !== '/authcode') headers.Authorization = 'Bearer ' + idToken;
    return fetch(config.apiUrl + path, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: 'omit',
      cache: 'no-store',
    }).then(
      function (response) {
        return response.json().then(
          function (data) {
            if (response.ok) return data;
            throw { status: response.status, error: data.error, message: data.message };
          },
          function () {
            throw {
              status: response.status,
              error: 'bad_response',
              message: 'The API answered HTTP ' + response.status,
            };
          },
        );
      },
      function () {
        throw {
          status: 0,
          error: 'unreachable',
          message: 'Could not reach the API (offline, or this site is not allowed to call it).',
        };
      },
    );
  }

  function claimsOf(jwt) {
    var part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  }

  /* ---- Sign In With Google: authentication ---- */

  function onCredential(response) {
    idToken = response.credential;
    var claims = claimsOf(idToken);
    user = { name: claims.name || claims.email || claims.sub, email: claims.email || '' };
    $('user-name').textContent = user.name;
    $('user-email').textContent = user.email;
    $('signed-out').hidden = true;
    $('signed-in').hidden = false;
    say('');
    loadConnection();
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
    var client = google.accounts.oauth2.initCodeClient({
      client_id: config.clientId,
      scope: SCOPES,
      ux_mode: 'popup',
      login_hint: user ? user.email : undefined,
      callback: onCode,
      error_callback: function (error) {
        say(
          error.type === 'popup_closed'
            ? 'The Google window was closed before you finished. Nothing was changed.'
            : 'The Google window could not be opened (allow pop-ups for this site).',
          'error',
        );
      },
    });
    client.requestCode();
  }

  function onCode(response) {
    if (response.error) {
      say(
        response.error === 'access_denied'
          ? 'No problem: you did not allow access, so nothing was stored. You can connect any time.'
          : 'Google did not grant access (' + response.error + ').',
        'error',
      );
      return;
    }
    say('Connecting…');
    // The code goes to our server once, in the body; it is never shown or kept here.
    callApi('POST', '/authcode', { authCode: response.code, redirectUri: 'postmessage' }).then(
      function (answer) {
        $('answer').textContent = JSON.stringify(answer, null, 2);
        $('answer-box').hidden = false;
        say(
          answer.offlineAccess
            ? 'Connected: offline access is on.'
            : REASONS[answer.reason] || 'Offline access is not on yet.',
          answer.offlineAccess ? 'ok' : 'error',
        );
        return loadConnection();
      },
      function (error) {
        say('Connecting failed: ' + error.message, 'error');
      },
    );
  }

  /* ---- GET /connection and POST /disconnect ---- */

  function list(values) {
    return values && values.length ? values.join('\n') : '—';
  }

  function showConnection(c) {
    $('status').textContent = c.status.replace('_', ' ');
    $('status').className = 'status-' + c.status;
    $('reason').textContent = c.reason ? REASONS[c.reason] || c.reason : '—';
    $('reason').dataset.reason = c.reason || '';
    $('granted-scopes').textContent = list(c.grantedScopes);
    $('missing-scopes').textContent = list(c.missingScopes);
    $('last-refresh').textContent = c.lastRefreshAt ? new Date(c.lastRefreshAt).toLocaleString() : 'not yet';
    var jobs = Object.keys(c.jobs || {});
    $('jobs').textContent = jobs.length
      ? jobs
          .map(function (name) {
            return name + ': ' + c.jobs[name].status + ' at ' + new Date(c.jobs[name].at).toLocaleString();
          })
          .join('\n')
      : 'none yet';
    var askAgain = c.status === 'not_connected' || ASK_AGAIN.indexOf(c.reason) >= 0;
    $('connect').hidden = c.status === 'active' || !askAgain;
    $('connect').textContent = c.status === 'not_connected' ? 'Connect Google Drive' : 'Connect again';
    $('disconnect').hidden = c.status !== 'active' && c.status !== 'needs_reconnect';
  }

  function loadConnection() {
    return callApi('GET', '/connection').then(showConnection, function (error) {
      if (error.status === 401) {
        // The ID token expired (they last an hour): sign in again for a fresh one.
        signOut();
        say('Your sign-in has expired: please sign in again.', 'error');
        return;
      }
      $('status').textContent = 'unknown';
      say(error.message, 'error');
    });
  }

  function disconnect() {
    callApi('POST', '/disconnect').then(
      function () {
        say('Disconnected: Google access was revoked and nothing is kept on our servers.', 'ok');
        return loadConnection();
      },
      function (error) {
        say('Disconnecting failed: ' + error.message, 'error');
      },
    );
  }

  /* ---- start ---- */

  $('connect').addEventListener('click', connect);
  $('reload').addEventListener('click', loadConnection);
  $('disconnect').addEventListener('click', disconnect);
  $('sign-out').addEventListener('click', signOut);

  loadGoogleIdentityServices().then(
    function () {
      google.accounts.id.initialize({ client_id: config.clientId, callback: onCredential, auto_select: false });
      google.accounts.id.renderButton($('gsi-button'), { type: 'standard', text: 'signin_with', shape: 'pill' });
    },
    function (error) {
      say(error.message, 'error');
    },
  );
})();
