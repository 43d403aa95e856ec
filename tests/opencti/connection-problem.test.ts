import { createServer, type RequestListener } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { OpenCtiApi } from '../../src/opencti/api';
import { connectionProblem } from '../../src/opencti/connection-problem';
import { OpenCtiUnusableError, register } from '../../src/opencti/registration';
import { captureLogs } from '../support/capture';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A local HTTP server that is not OpenCTI. */
async function impostor(answer: RequestListener): Promise<string> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function closedPortUrl(): Promise<string> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const apiAt = (url: string, logs = captureLogs()) =>
  new OpenCtiApi({
    url,
    token: 'token-1234',
    sslVerify: true,
    timeoutMs: 5000,
    logger: logs.logger,
  });

/** The problem the health check against `url` meets. */
async function problemAt(url: string) {
  const error = await apiAt(url)
    .healthCheck()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(Error);
  return connectionProblem(error, url);
}

describe('OpenCTI connection problems', () => {
  it('a name not found: retried, naming OPENCTI_URL', async () => {
    expect(await problemAt('http://opencti.invalid:8080')).toEqual({
      summary: 'OpenCTI host opencti.invalid:8080 not found (ENOTFOUND); check OPENCTI_URL',
      permanent: false,
    });
  });

  it('a refused connection: retried, as OpenCTI may still be starting', async () => {
    const url = await closedPortUrl();
    expect(await problemAt(url)).toEqual({
      summary: `${new URL(url).host} refused the connection: OpenCTI not started yet, or a wrong port in OPENCTI_URL`,
      permanent: false,
    });
  });

  it.each([404, 405, 401])('an HTTP %i: not OpenCTI, an error', async (status) => {
    const url = await impostor((_req, res) => {
      res.statusCode = status;
      res.end('nope');
    });
    expect(await problemAt(url)).toEqual({
      summary: `${url} answered HTTP ${status}: not OpenCTI's GraphQL API; check OPENCTI_URL`,
      permanent: true,
    });
  });

  it.each([502, 503, 429])('an HTTP %i: a platform starting or busy, retried', async (status) => {
    const url = await impostor((_req, res) => {
      res.statusCode = status;
      res.end('later');
    });
    expect(await problemAt(url)).toEqual({
      summary: `OpenCTI answered HTTP ${status} (starting or overloaded)`,
      permanent: false,
    });
  });

  it('an HTML page or JSON that is not OpenCTI: an error', async () => {
    const html = await impostor((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<html>Welcome</html>');
    });
    expect(await problemAt(html)).toMatchObject({
      summary: `${html} answered with a page that is not GraphQL: not OpenCTI's GraphQL API; check OPENCTI_URL`,
      permanent: true,
    });
    const json = await impostor((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"data":{"something":"else"}}');
    });
    expect(await problemAt(json)).toMatchObject({ permanent: true });
  });

  it('a TLS handshake with a server that speaks plain HTTP: an error', async () => {
    const url = (await impostor((_req, res) => res.end('plain'))).replace('http:', 'https:');
    const problem = await problemAt(url);
    expect(problem.permanent).toBe(true);
    expect(problem.summary).toMatch(/^OpenCTI's TLS certificate or handshake failed \(\w+\)/);
  });
});

describe('registration with what is not OpenCTI', () => {
  const options = (url: string, logs: ReturnType<typeof captureLogs>) => ({
    url,
    connector: { id: '5b0e8f52-3c1d-4a7e-9f6b-2d8c4e1a7b90', name: 'n', scope: ['s'] },
    version: '1.0.0',
    logger: logs.logger,
    signal: new AbortController().signal,
    reachable: () => undefined,
  });

  it('fails at once on a platform that is not OpenCTI', async () => {
    const url = await impostor((_req, res) => {
      res.statusCode = 405;
      res.end();
    });
    const logs = captureLogs();
    const registration = register(apiAt(url, logs), options(url, logs));
    await expect(registration).rejects.toThrow(OpenCtiUnusableError);
    await expect(registration).rejects.toThrow(`${url} answered HTTP 405`);
  });

  it('retries a refused connection with one short line, the stack only at debug level', async () => {
    const url = await closedPortUrl();
    const logs = captureLogs();
    const stop = new AbortController();
    const registration = register(apiAt(url, logs), { ...options(url, logs), signal: stop.signal });
    registration.catch(() => undefined);
    while (!logs.entries().some((e) => e.level === 'debug')) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    stop.abort(new Error('test over'));
    await expect(registration).rejects.toThrow('test over');
    const [warning] = logs.entries().filter((e) => e.level === 'warn');
    expect(warning).toEqual({
      level: 'warn',
      message: 'OpenCTI is not reachable yet; retrying',
      reason: expect.stringContaining('refused the connection'),
      attempt: 1,
      retry_in_s: expect.any(Number),
      timestamp: expect.any(String),
    });
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'debug',
        error: expect.objectContaining({ stack: expect.any(String) }),
      }),
    );
  });
});
