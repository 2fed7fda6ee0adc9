/**
 * The web app in a real browser: `npm start` (the whole offline stack, the Google emulator's
 * GIS stand-in and popup, the page on its own origin) driven through Chromium by
 * playwright-core, as a user clicks through it. Each test saves a screenshot under
 * test/e2e/screenshots/, and no page text, console line, URL or browser storage may ever
 * hold a code, token or secret.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startWebServer, type WebServer } from '../../local/web-server';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');
const SCREENSHOTS = join(__dirname, 'screenshots');
const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const CLIENT_ID = 'local-server-client.apps.googleusercontent.com';
/** Shapes of Google credentials: codes, access tokens, refresh tokens, JWTs. */
const CREDENTIAL_SHAPES = [/4\/0[\w-]{20,}/, /ya29\.[\w-]{20,}/, /1\/\/0[\w-]{20,}/, /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/];

let server: ChildProcess;
let output = '';
let browser: Browser;
let urls: { api: string; web: string; google: string };
let otherOrigin: WebServer;

/** Debian's Chromium (`apt-get install -y chromium`), or CHROMIUM_PATH. */
function findChromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, ...['chromium', 'chromium-browser'].map(whichOrUndefined)];
  const found = candidates.find((path): path is string => Boolean(path && existsSync(path)));
  if (!found) {
    throw new Error(
      'Chromium was not found. Install it with `apt-get update && apt-get install -y chromium` (as root), ' +
        'or set CHROMIUM_PATH to a Chromium or Chrome executable.',
    );
  }
  return found;
}

function whichOrUndefined(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${String(pattern)}:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      const match = pattern.exec(output);
      if (!match) return;
      clearTimeout(timer);
      server.stdout!.off('data', check);
      resolve(match);
    };
    server.stdout!.on('data', check);
    check();
  });
}

beforeAll(async () => {
  const executablePath = findChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    WEB_PORT: '0',
    GOOGLE_EMULATOR_PORT: '0',
    KMS_PORT: '0',
    SQS_PORT: '0',
    DYNAMODB_PORT: '0',
    REFRESH_INTERVAL: '1h',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  };
  for (const name of [
    'TABLE_NAME',
    'KMS_KEY_ID',
    'REFRESH_QUEUE_URL',
    'GOOGLE_CLIENT_SECRET_FILE',
    'GOOGLE_EMULATOR_HOST',
  ]) {
    delete env[name];
  }
  server = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'local/dev-server.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForOutput(/Ctrl-C stops everything/);
  urls = {
    api: (await waitForOutput(/HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!,
    web: (await waitForOutput(/Web app\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!,
    google: (await waitForOutput(/Google emulator\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!,
  };
  // The same page on an origin the API does not allow.
  otherOrigin = await startWebServer(
    () => ({ gisScriptUrl: `${urls.google}/gsi/client`, clientId: CLIENT_ID, apiUrl: urls.api }),
    { port: 0 },
  );
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await otherOrigin?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGINT');
    await exited;
  }
});

interface Session {
  context: BrowserContext;
  page: Page;
  console: string[];
}

const sessions: Session[] = [];

async function openApp(url = urls.web): Promise<Session> {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  const session: Session = { context, page, console: [] };
  const record = (target: Page) => {
    target.on('console', (message) => session.console.push(message.text()));
    target.on('pageerror', (error) => session.console.push(`pageerror: ${error.message}`));
  };
  record(page);
  context.on('page', record);
  sessions.push(session);
  await page.goto(url);
  await page.getByRole('button', { name: 'Sign in with Google' }).waitFor();
  return session;
}

afterEach(async () => {
  for (const session of sessions.splice(0)) {
    await expectNoSecrets(session);
    await session.context.close();
  }
});

/** Everything the emulator ever issued (codes, tokens, ID tokens) plus the client secret. */
async function issuedSecrets(): Promise<string[]> {
  const response = await fetch(`${urls.google}/emulator/issued-secrets`);
  const { secrets } = (await response.json()) as { secrets: string[] };
  return [...secrets, 'local-emulator-client-secret'];
}

async function expectNoSecrets({ context, page, console }: Session): Promise<void> {
  const secrets = await issuedSecrets();
  const storage = page.isClosed()
    ? ''
    : // Runs in the page (a string: this file is type-checked without the DOM library).
      await page.evaluate<string>('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } })');
  const cookies = JSON.stringify(await context.cookies());
  const places: Record<string, string> = {
    'page text': page.isClosed() ? '' : await page.innerText('body'),
    'page HTML': page.isClosed() ? '' : await page.content(),
    URL: page.isClosed() ? '' : page.url(),
    console: console.join('\n'),
    storage,
    cookies,
  };
  for (const [where, text] of Object.entries(places)) {
    const leaked = secrets.filter((secret) => text.includes(secret));
    expect({ where, leaked }).toEqual({ where, leaked: [] });
    for (const shape of CREDENTIAL_SHAPES)
      expect({ where, match: shape.exec(text)?.[0] }).toEqual({ where, match: undefined });
  }
  expect(JSON.parse(storage || '{"local":{},"session":{}}')).toEqual({ local: {}, session: {} });
  expect(cookies).toBe('[]');
}

/** Checks that what is on screen holds no secret, then saves it. */
async function screenshot(session: Session, name: string): Promise<void> {
  const text = await session.page.innerText('body');
  for (const secret of await issuedSecrets()) expect(text).not.toContain(secret);
  await session.page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Sign In With Google: the chooser popup, an account typed in. */
async function signIn({ page, context }: Session, email: string): Promise<void> {
  const popupOpened = context.waitForEvent('page');
  await page.getByRole('button', { name: 'Sign in with Google' }).click();
  const popup = await popupOpened;
  await popup.getByLabel('Use another account').fill(email);
  const closed = popup.waitForEvent('close'); // the popup closes itself once it has posted the result
  await popup.getByRole('button', { name: 'Next' }).click();
  await closed;
  await page.locator('#signed-in').waitFor();
}

/** The code client: the consent popup, optionally unticking Drive, then Allow or Cancel. */
async function connect(
  { page, context }: Session,
  options: { untickDrive?: boolean; decision?: 'Allow' | 'Cancel'; screenshot?: string } = {},
): Promise<void> {
  const popupOpened = context.waitForEvent('page');
  await page.locator('#connect').click();
  const popup = await popupOpened;
  await popup.getByText('wants access to your Google Account').waitFor();
  if (options.untickDrive) await popup.getByLabel(/configuration data in your Google Drive/).uncheck();
  if (options.screenshot) await popup.screenshot({ path: join(SCREENSHOTS, `${options.screenshot}.png`) });
  const closed = popup.waitForEvent('close');
  await popup.getByRole('button', { name: options.decision ?? 'Allow' }).click();
  await closed;
}

const statusOf = (page: Page) => page.locator('#status');
const unique = (name: string) => `${name}.${Date.now().toString(36)}@example.com`;

describe('the web app', () => {
  it('signs in, connects with every scope and shows the connection active', async () => {
    const session = await openApp();
    await signIn(session, unique('ada'));
    await session.page.locator('#status.status-not_connected').waitFor();
    await connect(session);
    await session.page.getByText('Connected: offline access is on.').waitFor();
    await session.page.locator('#status.status-active').waitFor();
    expect(await session.page.locator('#granted-scopes').innerText()).toContain(DRIVE_APPDATA);
    expect(await session.page.locator('#missing-scopes').innerText()).toBe('—');
    await screenshot(session, 'active');
  });

  it('shows missing_scopes, and a way to connect again, when the user unticks Drive', async () => {
    const session = await openApp();
    await signIn(session, unique('grace'));
    await connect(session, { untickDrive: true, screenshot: 'consent-drive-unticked' });
    await session.page.locator('#reason[data-reason="missing_scopes"]').waitFor();
    expect(await statusOf(session.page).textContent()).toBe('needs reconnect');
    expect(await session.page.locator('#missing-scopes').innerText()).toContain(DRIVE_APPDATA);
    expect(await session.page.locator('#connect').innerText()).toBe('Connect again');
    await screenshot(session, 'missing-scopes');

    // Asking again and ticking Drive this time restores offline access.
    await connect(session);
    await session.page.locator('#status.status-active').waitFor();
  });

  it('says so kindly when the user cancels on the consent screen, and stores nothing', async () => {
    const session = await openApp();
    await signIn(session, unique('alan'));
    await connect(session, { decision: 'Cancel' });
    await session.page.getByText('you did not allow access, so nothing was stored').waitFor();
    await session.page.locator('#reload').click();
    await session.page.locator('#status.status-not_connected').waitFor();
    expect(await statusOf(session.page).textContent()).toBe('not connected');
    await screenshot(session, 'cancelled');
  });

  it('disconnects: Google access revoked, the connection shown disconnected', async () => {
    const session = await openApp();
    await signIn(session, unique('barbara'));
    await connect(session);
    await session.page.locator('#status.status-active').waitFor();
    await session.page.locator('#disconnect').click();
    await session.page.getByText('Disconnected: Google access was revoked').waitFor();
    await session.page.locator('#status.status-disconnected').waitFor();
    expect(await session.page.locator('#reason').getAttribute('data-reason')).toBe('user_disconnected');
    await screenshot(session, 'disconnected');
  });

  it('cannot call the API from an origin CORS does not allow', async () => {
    const session = await openApp(otherOrigin.url);
    await signIn(session, unique('mallory'));
    await session.page.getByText('Could not reach the API').waitFor();
    const direct = await session.page.evaluate(async (api) => {
      try {
        await fetch(`${api}/connection`, { headers: { authorization: 'Bearer x' } });
        return 'reached';
      } catch (error) {
        return String(error);
      }
    }, urls.api);
    expect(direct).toMatch(/TypeError/);
    await screenshot(session, 'cors-blocked');
  });
});
