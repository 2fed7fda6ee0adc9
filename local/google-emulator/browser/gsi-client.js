/*
 * A stand-in for Google Identity Services (https://accounts.google.com/gsi/client), served by
 * the Google emulator at /gsi/client. Same API surface the web app uses:
 *   google.accounts.id.initialize / renderButton / prompt / disableAutoSelect / cancel
 *   google.accounts.oauth2.initCodeClient({ ux_mode: 'popup', ... }).requestCode()
 * Both open a popup on the emulator; the result comes back by postMessage, accepted only from
 * the emulator's origin, from that popup, with the state this script generated.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  var EMULATOR_ORIGIN = new URL(script ? script.src : location.href).origin;
  var idConfig = null;

  function randomState() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ('0' + b.toString(16)).slice(-2);
      })
      .join('');
  }

  /** Opens the emulator's popup; calls done(response) or failed(type) once. */
  function runPopup(params, done, failed) {
    var state = randomState();
    params.state = state;
    params.origin = location.origin;
    var query = new URLSearchParams();
    Object.keys(params).forEach(function (key) {
      if (params[key] !== undefined && params[key] !== null && params[key] !== '') query.set(key, String(params[key]));
    });
    var popup = window.open(
      EMULATOR_ORIGIN + '/o/oauth2/v2/auth?' + query.toString(),
      'g_emulator_' + params.response_type,
      'popup,width=500,height=640',
    );
    if (!popup) {
      failed('popup_failed_to_open', 'Failed to open popup window');
      return;
    }
    var finished = false;
    function finish() {
      finished = true;
      clearInterval(timer);
      window.removeEventListener('message', onMessage);
    }
    function onMessage(event) {
      if (finished || event.origin !== EMULATOR_ORIGIN || event.source !== popup) return;
      var data = event.data;
      if (!data || data.type !== 'gis-emulator-response' || data.state !== state) return;
      finish();
      done(data.response);
    }
    var timer = setInterval(function () {
      if (!popup.closed || finished) return;
      clearInterval(timer);
      // A result posted just before the window closed is still on its way: give it a moment.
      setTimeout(function () {
        if (finished) return;
        finish();
        failed('popup_closed', 'Popup window closed');
      }, 300);
    }, 250);
    window.addEventListener('message', onMessage);
  }

  function requireClientId(config) {
    if (!config || typeof config.client_id !== 'string' || !config.client_id) {
      throw new Error('Missing required parameter client_id.');
    }
  }

  function signInWithGoogle(selectBy) {
    if (!idConfig) throw new Error('google.accounts.id.initialize() must be called first.');
    runPopup(
      {
        client_id: idConfig.client_id,
        response_type: 'id_token',
        scope: 'openid email profile',
        nonce: idConfig.nonce,
        login_hint: idConfig.login_hint,
      },
      function (response) {
        // GIS calls the callback only with a credential; a cancelled sign-in is silent.
        if (response.credential && typeof idConfig.callback === 'function') {
          idConfig.callback({ credential: response.credential, select_by: selectBy, clientId: idConfig.client_id });
        }
      },
      function () {},
    );
  }

  var id = {
    initialize: function (config) {
      requireClientId(config);
      idConfig = config;
    },
    renderButton: function (parent, options) {
      options = options || {};
      var labels = {
        signin_with: 'Sign in with Google',
        signup_with: 'Sign up with Google',
        continue_with: 'Continue with Google',
        signin: 'Sign in',
      };
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'g-emulator-signin';
      button.textContent = labels[options.text] || labels.signin_with;
      button.setAttribute(
        'style',
        'display:inline-flex;align-items:center;gap:8px;padding:8px 14px;border:1px solid #dadce0;' +
          'border-radius:' +
          (options.shape === 'pill' ? '20px' : '4px') +
          ';background:#fff;color:#3c4043;font:500 14px system-ui,sans-serif;cursor:pointer',
      );
      button.addEventListener('click', function () {
        signInWithGoogle('btn');
      });
      parent.replaceChildren(button);
    },
    /** One Tap stand-in: opens the same chooser (call it from a click, or the popup is blocked). */
    prompt: function (listener) {
      signInWithGoogle('user');
      if (typeof listener === 'function') {
        listener({
          isDisplayMoment: function () {
            return true;
          },
          isDisplayed: function () {
            return true;
          },
          isNotDisplayed: function () {
            return false;
          },
          isSkippedMoment: function () {
            return false;
          },
          isDismissedMoment: function () {
            return false;
          },
          getMomentType: function () {
            return 'display';
          },
        });
      }
    },
    disableAutoSelect: function () {},
    cancel: function () {},
  };

  var oauth2 = {
    initCodeClient: function (config) {
      requireClientId(config);
      if (config.ux_mode && config.ux_mode !== 'popup') {
        throw new Error('This stand-in supports ux_mode "popup" only.');
      }
      return {
        requestCode: function () {
          runPopup(
            {
              client_id: config.client_id,
              response_type: 'code',
              scope: config.scope,
              redirect_uri: 'postmessage',
              login_hint: config.login_hint,
              include_granted_scopes: config.include_granted_scopes === false ? 'false' : undefined,
              prompt: config.select_account ? 'select_account' : undefined,
            },
            function (response) {
              var answer = {};
              Object.keys(response).forEach(function (key) {
                answer[key] = response[key];
              });
              if (config.state !== undefined) answer.state = config.state;
              if (typeof config.callback === 'function') config.callback(answer);
            },
            function (type, message) {
              if (typeof config.error_callback === 'function') config.error_callback({ type: type, message: message });
            },
          );
        },
      };
    },
    initTokenClient: function () {
      throw new Error('The token model is not emulated: use the code client (initCodeClient).');
    },
  };

  window.google = window.google || {};
  window.google.accounts = { id: id, oauth2: oauth2 };
  if (typeof window.onGoogleLibraryLoad === 'function') window.onGoogleLibraryLoad();
})();
