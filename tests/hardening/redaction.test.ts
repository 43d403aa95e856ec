import { closeServer } from '../support/servers';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { redactThenTruncate, serializeError } from '../../src/log';
import { OpenCtiApi } from '../../src/opencti/api';
import { ThreatStreamClient } from '../../src/threatstream/client';
import { captureLogs } from '../support/capture';
import { clientOptions, collectPages, pageQuery } from '../support/threatstream-fixtures';

/**
 * An upstream that echoes the request in its error body puts our credentials in that body. Cut
 * to a snippet before being redacted, a credential straddling the cut would leave its first
 * characters behind, too short to be recognised as the secret. No output may hold even six
 * consecutive characters of one, wherever the cut falls.
 */

const API_KEY = 'ts-key-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const USERNAME = 'analyst@example.org';
const TOKEN = 'b7e2c9a4-31d5-4f08-9e6a-5c0d8f2b1a73';
const FRAGMENT_CHARS = 6;

/** Every run of FRAGMENT_CHARS consecutive characters of `secret` that `text` holds. */
function fragmentsOf(secret: string, text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + FRAGMENT_CHARS <= secret.length; i++) {
    const fragment = secret.slice(i, i + FRAGMENT_CHARS);
    if (text.includes(fragment)) found.push(fragment);
  }
  return found;
}

/** `secret` placed at each offset from `first` to `last`, between filler characters. */
function echoes(secret: string, first: number, last: number): { offset: number; body: string }[] {
  const bodies = [];
  for (let offset = first; offset <= last; offset++) {
    bodies.push({ offset, body: `${'.'.repeat(offset)}${secret} and more text after it` });
  }
  return bodies;
}

/** What a failure leaves for an operator to read: the error and the log line reporting it. */
function reported(error: unknown, secrets: string[]): string {
  const logs = captureLogs({ secrets });
  logs.logger.error('Request failed', { error: serializeError(error) });
  return `${String(error)}\n${JSON.stringify(serializeError(error))}\n${logs.text()}`;
}

let server: http.Server | undefined;

afterEach(async () => {
  await closeServer(server);
  server = undefined;
});

/** A server on loopback answering every request with `status` and the body `next()` returns. */
async function echoingServer(status: number, next: () => string): Promise<string> {
  server = http.createServer((request, response) => {
    request.resume();
    response.writeHead(status, { 'content-type': 'text/plain' }).end(next());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('redactThenTruncate', () => {
  it('leaves no fragment of a secret that straddles the cut, at any position', () => {
    const cut = 40;
    for (const { offset, body } of echoes(API_KEY, 0, cut + 1)) {
      const text = redactThenTruncate(body, [API_KEY], cut);
      expect({ offset, fragments: fragmentsOf(API_KEY, text) }).toEqual({ offset, fragments: [] });
      expect(text.length).toBeLessThanOrEqual(cut + 1);
    }
  });
});

describe('a credential echoed across every cut point', () => {
  it('ThreatStream: an error body echoing `apikey user:key` around the snippet limit', async () => {
    const echoed = `apikey ${USERNAME}:${API_KEY}`;
    const bodies = echoes(echoed, 120, 220);
    let served = 0;
    const url = await echoingServer(400, () => bodies[served++]!.body);
    const client = new ThreatStreamClient(
      clientOptions(captureLogs().logger, { baseUrl: url, apiKey: API_KEY, username: USERNAME }),
    );

    for (const { offset } of bodies) {
      const error = await collectPages(client, pageQuery()).catch((e: unknown) => e);
      expect(String(error)).toContain('ThreatStream answered HTTP 400');
      const fragments = fragmentsOf(API_KEY, reported(error, [API_KEY]));
      expect({ offset, fragments }).toEqual({ offset, fragments: [] });
    }
    expect(served).toBe(bodies.length);
  });

  it('OpenCTI: an error page echoing the bearer token around the snippet limit', async () => {
    const bodies = echoes(`Bearer ${TOKEN}`, 230, 310);
    let served = 0;
    const url = await echoingServer(502, () => bodies[served++]!.body);
    const api = new OpenCtiApi({
      url,
      token: TOKEN,
      sslVerify: true,
      logger: captureLogs().logger,
    });

    for (const { offset } of bodies) {
      const error = await api.healthCheck().catch((e: unknown) => e);
      expect(String(error)).toContain('OpenCTI HealthCheck: HTTP 502');
      const fragments = fragmentsOf(TOKEN, reported(error, [TOKEN]));
      expect({ offset, fragments }).toEqual({ offset, fragments: [] });
    }
    expect(served).toBe(bodies.length);
  });
});
