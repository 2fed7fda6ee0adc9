/** `npm run emulator:google`: a standalone emulator on PORT (default 8085) until SIGINT/SIGTERM. */
import { clientSecretJson, DEFAULT_LOCAL_CLIENT, startGoogleEmulator } from './index';

const DEFAULT_PORT = 8085;

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a port number, got "${process.env.PORT}"`);
  const emulator = await startGoogleEmulator({ port });
  console.log(`Google emulator listening on ${emulator.url}`);
  console.log(`  GOOGLE_EMULATOR_HOST=${emulator.hostPort}`);
  console.log(`  default client: ${DEFAULT_LOCAL_CLIENT.clientId}`);
  console.log(`  client_secret.json: ${clientSecretJson(DEFAULT_LOCAL_CLIENT)}`);
  console.log(`  sign a user in: curl -s -XPOST ${emulator.url}/emulator/authorize -d '{"sub":"1001"}'`);

  const stop = (signal: NodeJS.Signals): void => {
    console.log(`${signal}: stopping`);
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
