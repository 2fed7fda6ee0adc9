/**
 * `tsx local/aws/with-moto.ts <command...>`: runs a command against a fresh moto_server.
 * Points DynamoDB, KMS, SQS and Secrets Manager at moto (with a region and fake credentials),
 * runs the command with inherited stdio, stops moto, and exits with the command's code.
 * Example: `tsx local/aws/with-moto.ts jest --selectProjects integration`.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { localAwsDefaults } from './local-env';
import { startMoto } from './moto';

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    console.error('usage: tsx local/aws/with-moto.ts <command> [args...]');
    return 2;
  }
  const moto = await startMoto();
  try {
    const env = {
      ...process.env,
      ...localAwsDefaults(process.env),
      AWS_ENDPOINT_URL_DYNAMODB: moto.url,
      AWS_ENDPOINT_URL_KMS: moto.url,
      AWS_ENDPOINT_URL_SQS: moto.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.url,
    };
    console.error(`moto_server on ${moto.url}`);
    return await run(command, args, env);
  } finally {
    await moto.close();
  }
}

/** The command's exit code; 128 + signal number when a signal ended it, as a shell reports. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    // Ctrl-C reaches the child through the terminal too; forwarding covers a plain `kill`.
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
