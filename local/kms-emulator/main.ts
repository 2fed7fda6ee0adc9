/** `npm run emulator:kms`: the KMS emulator on 127.0.0.1:$PORT (default 4599) until interrupted. */
import { startKmsEmulator } from './index';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 4599);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a port number, got "${process.env.PORT}"`);
  const emulator = await startKmsEmulator({ port });
  console.log(`KMS emulator listening on ${emulator.url} (AWS_ENDPOINT_URL_KMS=${emulator.url})`);
  const stop = (): void => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
