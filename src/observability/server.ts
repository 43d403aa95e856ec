import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { redactText, serializeError, type Logger } from '../log';
import type { ConnectorStatus } from './status';

export interface ObservabilityServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  status: ConnectorStatus;
  /** Kept out of every answer, as out of the logs. */
  secrets: readonly string[];
  logger: Logger;
}

/** `/metrics` for Prometheus, `/health` for the container healthcheck, `/status` for people. */
export async function startObservabilityServer(
  options: ObservabilityServerOptions,
): Promise<Server> {
  const { registry, status, secrets, logger } = options;
  const json = (body: unknown) => redactText(JSON.stringify(body), secrets);
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const reply = (code: number, type: string, body: string) => {
      response.writeHead(code, { 'content-type': type }).end(body);
    };
    if (request.method !== 'GET') return reply(405, 'text/plain', 'method not allowed\n');
    if (path === '/health') {
      const health = status.health();
      return reply(health.ok ? 200 : 503, 'application/json', json(health));
    }
    if (path === '/status') return reply(200, 'application/json', json(status.snapshot()));
    if (path === '/metrics') {
      registry
        .metrics()
        .then((text) => reply(200, registry.contentType, text))
        .catch((error: unknown) => {
          logger.warn('Could not render metrics', { error: serializeError(error) });
          reply(500, 'text/plain', 'metrics unavailable\n');
        });
      return;
    }
    reply(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  logger.info('Metrics and health endpoints listening', { port: options.port });
  return server;
}
