/** What every in-process or spawned local AWS stand-in hands back, and how in-process ones listen. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalService {
  /** `http://127.0.0.1:<port>`, the value for the matching `AWS_ENDPOINT_URL_*`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Connections a local stand-in queues before accepting: room for a thousand clients at once
 * (Node's default of 511 resets the rest, which no real AWS endpoint or API Gateway does).
 */
export const LISTEN_BACKLOG = 4096;

/** Starts `server` on 127.0.0.1 (never another interface); port 0 picks a free one. */
export async function listenOnLoopback(server: Server, port = 0): Promise<LocalService> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // SDK clients keep connections alive; drop them so close() does not wait for idle timeouts.
        server.closeAllConnections();
      }),
  };
}
