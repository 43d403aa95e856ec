import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { OpenCtiApi, OpenCtiRequestError } from '../../src/opencti/api';
import { silentLogger } from '../../src/log';

// A throwaway self-signed certificate for 127.0.0.1 (valid 2000–2100), with its key; used only here.
const pem = readFileSync(path.join(__dirname, 'fixtures', 'self-signed-127.0.0.1.pem'), 'utf8');

let server: https.Server;
let url: string;

beforeAll(async () => {
  server = https.createServer({ cert: pem, key: pem }, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { about: { version: '6.8.10' } } }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

function api(sslVerify: boolean) {
  const logger = silentLogger();
  const warn = jest.spyOn(logger, 'warn');
  const client = new OpenCtiApi({
    url,
    token: 'tls-test-token',
    sslVerify,
    timeoutMs: 5000,
    logger,
  });
  return { client, warn };
}

it('skips certificate verification when sslVerify is false, with one warning', async () => {
  const { client, warn } = api(false);

  await expect(client.healthCheck()).resolves.toBe('6.8.10');
  await expect(client.healthCheck()).resolves.toBe('6.8.10');

  expect(warn).toHaveBeenCalledTimes(1);
});

it('refuses a self-signed certificate when sslVerify is true', async () => {
  const { client, warn } = api(true);

  const error = await client.healthCheck().catch((e: unknown) => e);

  expect(error).toBeInstanceOf(OpenCtiRequestError);
  expect((error as Error).message).toMatch(/^OpenCTI HealthCheck: .*self[- ]signed/i);
  expect(warn).not.toHaveBeenCalled();
});
