import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DecoyRequest {
  url: string;
  authorization: string | undefined;
}

/**
 * Another host on 127.0.0.1 that a redirect or a `meta.next` link points to. It answers like
 * ThreatStream would, so that following the link would look like success: only its request
 * log tells whether the connector went there, credentials and all.
 */
export class DecoyServer {
  readonly requests: DecoyRequest[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<DecoyServer> {
    const server = http.createServer();
    const decoy = new DecoyServer(server);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      decoy.requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ meta: { next: null, limit: 1000, total_count: 0 }, objects: [] }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return decoy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }
}
