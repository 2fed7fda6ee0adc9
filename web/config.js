// The only settings that differ between `npm start` and production. `npm start` serves its own
// version of this file (the Google emulator's script, the local client ID, the local API).
window.APP_CONFIG = {
  gisScriptUrl: 'https://accounts.google.com/gsi/client',
  clientId: 'YOUR_SERVER_CLIENT_ID.apps.googleusercontent.com', // the web (server) client ID
  apiUrl: 'https://YOUR_API_ID.execute-api.YOUR_REGION.amazonaws.com', // the stack's ApiUrl, no trailing slash
};
