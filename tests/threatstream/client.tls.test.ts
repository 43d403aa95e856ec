import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { ThreatStreamClient, ThreatStreamRequestError } from '../../src/threatstream/client';
import {
  captureLogs,
  clientOptions,
  collectPages,
  intelRecord,
  pageBody,
  pageQuery,
} from '../support/threatstream-fixtures';
import { SELF_SIGNED_CERT, SELF_SIGNED_KEY } from '../support/threatstream-tls';

/** An HTTPS ThreatStream on 127.0.0.1 whose certificate no CA vouches for. */
let server: https.Server;
let baseUrl: string;
let requests = 0;

beforeAll(async () => {
  server = https.createServer({ key: SELF_SIGNED_KEY, cert: SELF_SIGNED_CERT }, (_req, res) => {
    requests += 1;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(pageBody([intelRecord(1001)])));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests = 0;
});

test('with verification on, an untrusted certificate is a clear error and is not retried', async () => {
  const client = new ThreatStreamClient(clientOptions(captureLogs().logger, { baseUrl }));

  const failure = collectPages(client, pageQuery());

  await expect(failure).rejects.toBeInstanceOf(ThreatStreamRequestError);
  await expect(failure).rejects.toThrow('TLS certificate was not accepted');
  expect(requests).toBe(0);
});

test('with verification off, the same server is used', async () => {
  const client = new ThreatStreamClient(
    clientOptions(captureLogs().logger, { baseUrl, sslVerify: false }),
  );

  const pages = await collectPages(client, pageQuery());

  expect(pages[0]!.records.map((r) => r.update_id)).toEqual(['1001']);
  expect(requests).toBe(1);
});
