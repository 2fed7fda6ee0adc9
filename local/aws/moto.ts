/**
 * moto_server (DynamoDB, KMS, SQS, Secrets Manager in one process), spawned on 127.0.0.1 and
 * a free port. moto is a Python tool installed on the project's machines, not an npm package:
 * `moto_server` must be on PATH.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { LocalService } from './local-service';

export interface MotoOptions {
  /** Default: a free port. */
  port?: number;
}

const READY_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 100;
const STOP_TIMEOUT_MS = 3_000;
const STDERR_TAIL_CHARS = 2_000;

export async function startMoto(options: MotoOptions = {}): Promise<LocalService> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  // moto logs every request to stderr: keep draining it (a full pipe would stall moto) and keep the tail for errors.
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
  });
  // If the test runner exits without calling close(), still take moto down with it.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const close = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    await stop(child);
  };

  try {
    await waitUntilReady(url, child, () => stderrTail);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, close };
}

async function waitUntilReady(url: string, child: ChildProcess, stderrTail: () => string): Promise<void> {
  const failure = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`cannot run moto_server (is it on PATH?): ${error.message}`)));
    child.once('exit', (code) =>
      reject(new Error(`moto_server exited with ${code} before answering:\n${stderrTail()}`)),
    );
  });
  failure.catch(() => undefined); // observed below; avoids an unhandled rejection once we are ready
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await answers(`${url}/moto-api/`)) return;
    await Promise.race([failure, delay(POLL_INTERVAL_MS)]);
  }
  throw new Error(`moto_server did not answer on ${url} within ${READY_TIMEOUT_MS} ms:\n${stderrTail()}`);
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL if moto has not exited in time. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** A port the OS just handed out; moto binds it a moment later (a tiny race, fine on loopback). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
