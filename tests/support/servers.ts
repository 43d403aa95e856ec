import { once } from 'node:events';
import type http from 'node:http';

/** Closes a test's local server, its open connections included; nothing when there is none. */
export async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server?.listening) return;
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}
