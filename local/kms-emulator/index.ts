/**
 * A KMS emulator for the local stack and the integration tests: symmetric keys, aliases,
 * Encrypt/Decrypt/GenerateDataKey with encryption context enforced, over the real AWS JSON
 * 1.1 protocol, so the real `@aws-sdk/client-kms` talks to it through `AWS_ENDPOINT_URL_KMS`.
 * Keys live in memory for the life of the process. It listens on 127.0.0.1 only.
 */
import { createServer } from 'node:http';
import { listenOnLoopback, type LocalService } from '../aws/local-service';
import { AwsFaultQueue, type AwsFaultSpec } from '../aws/fault-queue';
import { KMS_FAULT_KINDS, kmsRequestHandler, type KmsFaultKind } from './http-handler';
import { KeyStore } from './keystore';
import { kmsOperations } from './operations';
import { RequestCounts } from './request-counts';

export interface KmsEmulatorOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Region in key ARNs; default `AWS_REGION`, else us-east-1. */
  region?: string;
}

/** `url` is the value for `AWS_ENDPOINT_URL_KMS`. */
export interface KmsEmulator extends LocalService {
  /** Requests received so far, by operation (`{ GenerateDataKey: 2, Decrypt: 5 }`). */
  requestCounts(): Record<string, number>;
  resetCounts(): void;
  /** Fault injection: the next matching requests fail as KMS fails them. */
  injectFault(fault: AwsFaultSpec<KmsFaultKind>): void;
  clearFaults(): void;
  /** Faults answered so far, by `operation:kind`. */
  injectedFaults(): Record<string, number>;
}

export type { KmsFaultKind };

export async function startKmsEmulator(options: KmsEmulatorOptions = {}): Promise<KmsEmulator> {
  const store = new KeyStore(options.region ?? process.env.AWS_REGION ?? 'us-east-1');
  const counts = new RequestCounts();
  const faults = new AwsFaultQueue<KmsFaultKind>(KMS_FAULT_KINDS);
  const server = createServer(kmsRequestHandler(kmsOperations(store), counts, faults));
  const service = await listenOnLoopback(server, options.port);
  return {
    ...service,
    requestCounts: () => counts.snapshot(),
    resetCounts: () => counts.reset(),
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    injectedFaults: () => faults.injectedCounts(),
  };
}
