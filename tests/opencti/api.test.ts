import { inspect } from 'node:util';
import { graphql, http, HttpResponse, type JsonBodyType } from 'msw';
import { setupServer } from 'msw/node';
import {
  OpenCtiApi,
  OpenCtiGraphQLError,
  OpenCtiRequestError,
  type ConnectorInfo,
  type OpenCtiApiOptions,
} from '../../src/opencti/api';
import { serializeError, silentLogger } from '../../src/log';
import { CONNECTOR_ID, registerInput } from '../support/opencti-fixtures';

const BASE_URL = 'http://127.0.0.1:18080';
const GRAPHQL_URL = `${BASE_URL}/graphql`;
const TOKEN = 'f3b6c0de-5a1e-4c7b-9d2a-0e8f7a6b5c4d';
const WORK_ID = `work_${CONNECTOR_ID}_2026-11-22T10:00:00.000Z`;

const opencti = graphql.link(GRAPHQL_URL);
const server = setupServer();

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function api(overrides: Partial<OpenCtiApiOptions> = {}): OpenCtiApi {
  return new OpenCtiApi({
    url: BASE_URL,
    token: TOKEN,
    sslVerify: true,
    timeoutMs: 2000,
    logger: silentLogger(),
    ...overrides,
  });
}

interface SeenRequest {
  headers: Headers;
  body: { query: string; variables: Record<string, unknown>; operationName?: string };
}

/** Answers every POST /graphql with `answer` and keeps what was sent. */
function answerAll(answer: () => Response | Promise<Response>): SeenRequest[] {
  const seen: SeenRequest[] = [];
  server.use(
    http.post(GRAPHQL_URL, async ({ request }) => {
      seen.push({ headers: request.headers, body: (await request.json()) as SeenRequest['body'] });
      return answer();
    }),
  );
  return seen;
}

const answerData = (data: JsonBodyType) => answerAll(() => HttpResponse.json({ data }));

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function expectNoToken(error: unknown): void {
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).not.toContain(TOKEN);
  expect(JSON.stringify(serializeError(error))).not.toContain(TOKEN);
  expect(inspect(error, { depth: 20 })).not.toContain(TOKEN);
}

const connectorInfo: ConnectorInfo = {
  run_and_terminate: false,
  buffering: false,
  queue_threshold: 500,
  queue_messages_size: 0.004,
  next_run_datetime: '2026-11-22T11:00:00Z',
  last_run_datetime: null,
};

describe('OpenCtiApi requests', () => {
  it('posts a named query to {url}/graphql with the token, JSON content type and user agent', async () => {
    const seen = answerData({ about: { version: '6.8.10' } });

    await expect(api().healthCheck()).resolves.toBe('6.8.10');

    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request?.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers.get('content-type')).toBe('application/json');
    expect(request?.headers.get('user-agent')).toBe('opencti-connector-threatstream');
    expect(request?.body.operationName).toBe('HealthCheck');
    expect(request?.body.query).toContain('query HealthCheck');
  });

  it('uses the configured user agent and tolerates a trailing slash in the URL', async () => {
    const seen = answerData({ about: { version: '6.8.10' } });
    await api({ url: `${BASE_URL}/`, userAgent: 'threatstream/1.2.3' }).healthCheck();
    expect(seen[0]?.headers.get('user-agent')).toBe('threatstream/1.2.3');
  });

  it('registers with the input pycti sends and returns state, user and broker config', async () => {
    const config = {
      connection: {
        host: 'rabbitmq',
        vhost: '/',
        use_ssl: false,
        port: 5672,
        user: 'opencti',
        pass: 'broker-secret',
      },
      listen: `listen_${CONNECTOR_ID}`,
      listen_routing: `listen_routing_${CONNECTOR_ID}`,
      listen_exchange: 'amqp.connector.exchange',
      push: `push_${CONNECTOR_ID}`,
      push_routing: `push_routing_${CONNECTOR_ID}`,
      push_exchange: 'amqp.worker.exchange',
    };
    const seen: Record<string, unknown>[] = [];
    server.use(
      opencti.mutation('RegisterConnector', ({ variables }) => {
        seen.push(variables);
        return HttpResponse.json({
          data: {
            registerConnector: {
              id: CONNECTOR_ID,
              connector_state: '{"last_update_id": "1234"}',
              config,
              connector_user_id: '88ec0c6a-13ce-5e39-b486-354fe4a7084f',
            },
          },
        });
      }),
    );

    const registration = await api().registerConnector(registerInput);

    expect(seen).toEqual([
      {
        input: {
          id: CONNECTOR_ID,
          name: 'ThreatStream',
          type: 'EXTERNAL_IMPORT',
          scope: ['threatstream'],
          auto: false,
          auto_update: false,
          enrichment_resolution: 'none',
          only_contextual: false,
          playbook_compatible: false,
          listen_callback_uri: null,
        },
      },
    ]);
    expect(registration).toEqual({
      id: CONNECTOR_ID,
      connectorState: '{"last_update_id": "1234"}',
      connectorUserId: '88ec0c6a-13ce-5e39-b486-354fe4a7084f',
      config,
    });
  });

  it('pings with the state string and connector_info, and returns the stored state', async () => {
    const seen: Record<string, unknown>[] = [];
    server.use(
      opencti.mutation('PingConnector', ({ variables }) => {
        seen.push(variables);
        return HttpResponse.json({
          data: {
            pingConnector: {
              id: CONNECTOR_ID,
              connector_state: '',
              connector_info: { ...connectorInfo, next_run_datetime: '2026-11-22T11:00:00.000Z' },
            },
          },
        });
      }),
    );

    const answer = await api().pingConnector(CONNECTOR_ID, 'null', connectorInfo);

    expect(seen).toEqual([{ id: CONNECTOR_ID, state: 'null', connectorInfo }]);
    expect(answer).toEqual({ connectorState: '' });
  });

  it('reads the queue details of the connector', async () => {
    const seen: Record<string, unknown>[] = [];
    server.use(
      opencti.query('ConnectorQueueDetails', ({ variables }) => {
        seen.push(variables);
        return HttpResponse.json({
          data: {
            connector: {
              id: CONNECTOR_ID,
              connector_queue_details: { messages_number: 1200, messages_size: 734003200 },
            },
          },
        });
      }),
    );

    await expect(api().queueDetails(CONNECTOR_ID)).resolves.toEqual({
      messagesNumber: 1200,
      messagesSize: 734003200,
    });
    expect(seen).toEqual([{ id: CONNECTOR_ID }]);
  });

  it('runs the work lifecycle with pycti argument names', async () => {
    const seen: [string, Record<string, unknown>][] = [];
    server.use(
      opencti.mutation('WorkAdd', ({ variables }) => {
        seen.push(['WorkAdd', variables]);
        return HttpResponse.json({ data: { workAdd: { id: WORK_ID } } });
      }),
      opencti.mutation('WorkAddExpectations', ({ variables }) => {
        seen.push(['WorkAddExpectations', variables]);
        return HttpResponse.json({ data: { workEdit: { addExpectations: WORK_ID } } });
      }),
      opencti.mutation('StixBundlePush', ({ variables }) => {
        seen.push(['StixBundlePush', variables]);
        return HttpResponse.json({ data: { stixBundlePush: true } });
      }),
      opencti.mutation('WorkToProcessed', ({ variables }) => {
        seen.push(['WorkToProcessed', variables]);
        return HttpResponse.json({ data: { workEdit: { toProcessed: WORK_ID } } });
      }),
    );
    const client = api();

    const workId = await client.workAdd(CONNECTOR_ID, 'ThreatStream run @ 2026-11-22T10:00:00Z');
    await client.workAddExpectations(workId, 502);
    await client.stixBundlePush(CONNECTOR_ID, '{"type":"bundle"}', null);
    await client.workToProcessed(workId, 'Imported 500 indicators', false);

    expect(workId).toBe(WORK_ID);
    expect(seen).toEqual([
      [
        'WorkAdd',
        { connectorId: CONNECTOR_ID, friendlyName: 'ThreatStream run @ 2026-11-22T10:00:00Z' },
      ],
      ['WorkAddExpectations', { id: WORK_ID, expectations: 502 }],
      ['StixBundlePush', { connectorId: CONNECTOR_ID, bundle: '{"type":"bundle"}', work_id: null }],
      ['WorkToProcessed', { id: WORK_ID, message: 'Imported 500 indicators', inError: false }],
    ]);
  });
});

describe('OpenCtiApi failures', () => {
  it('raises OpenCtiGraphQLError named after errors[0].name on HTTP 200 with errors', async () => {
    answerAll(() =>
      HttpResponse.json({
        errors: [
          {
            message: 'Execution timeout, too many concurrent call on the same entities',
            name: 'LOCK_ERROR',
            extensions: { code: 'LOCK_ERROR', data: { http_status: 500 } },
          },
        ],
        data: { workEdit: null },
      }),
    );

    const error = await failure(api().workToProcessed(WORK_ID, 'done', false));

    expect(error).toBeInstanceOf(OpenCtiGraphQLError);
    expect(error).toMatchObject({
      errorName: 'LOCK_ERROR',
      operation: 'WorkToProcessed',
      message:
        'OpenCTI WorkToProcessed: LOCK_ERROR: Execution timeout, too many concurrent call on the same entities',
    });
  });

  it('falls back to extensions.code when errors[0] has no name', async () => {
    answerAll(() =>
      HttpResponse.json({
        errors: [
          { message: 'You are not allowed to do this.', extensions: { code: 'FORBIDDEN_ACCESS' } },
        ],
        data: { connector: null },
      }),
    );

    const error = await failure(api().queueDetails(CONNECTOR_ID));

    expect(error).toBeInstanceOf(OpenCtiGraphQLError);
    expect(error).toMatchObject({
      errorName: 'FORBIDDEN_ACCESS',
      operation: 'ConnectorQueueDetails',
    });
  });

  it.each([500, 502])('raises OpenCtiRequestError with the status on HTTP %d', async (status) => {
    answerAll(() => new HttpResponse('<html><body>Bad Gateway</body></html>', { status }));

    const error = await failure(api().pingConnector(CONNECTOR_ID, 'null', connectorInfo));

    expect(error).toBeInstanceOf(OpenCtiRequestError);
    expect(error).toMatchObject({ status, operation: 'PingConnector' });
    expect((error as Error).message).toContain(`OpenCTI PingConnector: HTTP ${status}`);
  });

  it('raises OpenCtiRequestError with a cause on a network error', async () => {
    answerAll(() => HttpResponse.error());

    const error = await failure(api().healthCheck());

    expect(error).toBeInstanceOf(OpenCtiRequestError);
    expect((error as OpenCtiRequestError).status).toBeUndefined();
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^OpenCTI HealthCheck: /);
  });

  it('gives up after timeoutMs when the platform does not answer', async () => {
    const late = HttpResponse.json({ data: { about: { version: '6.8.10' } } });
    // A good answer that comes after the time limit: the call fails only if it gave up first.
    // An unref'd timer, so the pending answer does not hold Jest open after the test.
    answerAll(() => new Promise((resolve) => setTimeout(() => resolve(late), 5000).unref()));

    const error = await failure(api({ timeoutMs: 150 }).healthCheck());

    expect(error).toBeInstanceOf(OpenCtiRequestError);
    expect((error as Error).message).toBe('OpenCTI HealthCheck: no answer within 150 ms');
  });

  it('rejects an answer of the wrong shape, naming the operation', async () => {
    answerData({ registerConnector: { id: CONNECTOR_ID, connector_state: null } });

    const error = await failure(api().registerConnector(registerInput));

    expect(error).toBeInstanceOf(OpenCtiRequestError);
    expect((error as Error).message).toMatch(/^OpenCTI RegisterConnector: unexpected answer/);
    expect((error as Error).message).toContain('registerConnector.config');
  });

  it('rejects a null where the connector was expected', async () => {
    answerData({ connector: null });
    const error = await failure(api().queueDetails(CONNECTOR_ID));
    expect(error).toBeInstanceOf(OpenCtiRequestError);
    expect((error as Error).message).toMatch(/^OpenCTI ConnectorQueueDetails: unexpected answer/);
  });

  it('rejects a 200 whose body is not JSON', async () => {
    answerAll(
      () =>
        new HttpResponse('<html>maintenance</html>', { headers: { 'content-type': 'text/html' } }),
    );
    const error = await failure(api().healthCheck());
    expect(error).toBeInstanceOf(OpenCtiRequestError);
    expect((error as Error).message).toMatch(/^OpenCTI HealthCheck: /);
  });

  it('never lets the token into an error, even when the platform echoes it', async () => {
    const echo = `Bearer ${TOKEN}`;
    const answers: (() => Response)[] = [
      () =>
        HttpResponse.json({ errors: [{ message: `bad header ${echo}`, name: 'AUTH_FAILURE' }] }),
      () => new HttpResponse(`upstream refused ${echo}`, { status: 502 }),
      () => new HttpResponse(`<html>${echo}</html>`, { headers: { 'content-type': 'text/html' } }),
      () => HttpResponse.json({ errors: [{ message: `bad ${echo}` }] }, { status: 400 }),
      () => HttpResponse.error(),
      () => HttpResponse.json({ data: { about: { version: 6 } } }),
    ];
    for (const answer of answers) {
      server.resetHandlers();
      answerAll(answer);
      expectNoToken(await failure(api().healthCheck()));
    }
  });
});

describe('OpenCtiApi TLS warning', () => {
  it('warns once when verification is off for an https URL, and only then', () => {
    const cases: [string, boolean, number][] = [
      ['https://opencti.example:8443', false, 1],
      ['https://opencti.example:8443', true, 0],
      ['http://127.0.0.1:8080', false, 0],
    ];
    for (const [url, sslVerify, warnings] of cases) {
      const logger = silentLogger();
      const warn = jest.spyOn(logger, 'warn');
      api({ url, sslVerify, logger });
      expect(warn).toHaveBeenCalledTimes(warnings);
    }
  });
});
