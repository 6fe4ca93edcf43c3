import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An ml-latest-small download URL on a port nothing listens on (taken from the OS, then released):
 * a first start that tries it fails to connect at once, as when offline.
 */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}/ml-latest-small.zip`;
}
