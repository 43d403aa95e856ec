import { idleConnectorInfo } from '../support/opencti-fixtures';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { OpenCtiApi, OpenCtiGraphQLError, OpenCtiRequestError } from '../../src/opencti/api';
import { silentLogger } from '../../src/log';
import { CONNECTOR_ID, registerInput } from '../support/opencti-fixtures';
import { OpenCtiStub } from '../../stand-ins/opencti/stub';

const TOKEN = 'stub-test-token-0123';

const info = idleConnectorInfo();

let stub: OpenCtiStub;

afterEach(async () => {
  expect(stub.violations).toEqual([]);
  await stub.close();
});

function client(options: { token?: string; timeoutMs?: number } = {}): OpenCtiApi {
  return new OpenCtiApi({
    url: stub.url,
    token: options.token ?? TOKEN,
    sslVerify: true,
    timeoutMs: options.timeoutMs ?? 5000,
    logger: silentLogger(),
  });
}

async function registered(): Promise<OpenCtiApi> {
  const api = client();
  await api.registerConnector(registerInput);
  return api;
}

/** A raw POST, for requests OpenCtiApi would never send. */
async function post(body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${stub.url}/graphql`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('registration and state', () => {
  it('returns the stored state, the token user and the configured broker', async () => {
    stub = await OpenCtiStub.start({
      token: TOKEN,
      storedState: '{"last_update_id":"900"}',
      connectorUserId: 'user-1',
      broker: { host: '127.0.0.1', port: 35672, user: 'ts', pass: 'ts-pass', vhost: 'octi' },
    });

    const registration = await client().registerConnector(registerInput);

    expect(registration).toEqual({
      id: CONNECTOR_ID,
      connectorState: '{"last_update_id":"900"}',
      connectorUserId: 'user-1',
      config: {
        connection: {
          host: '127.0.0.1',
          port: 35672,
          vhost: 'octi',
          use_ssl: false,
          user: 'ts',
          pass: 'ts-pass',
        },
        push: `push_${CONNECTOR_ID}`,
        push_routing: `push_routing_${CONNECTOR_ID}`,
        push_exchange: 'amqp.worker.exchange',
        listen: `listen_${CONNECTOR_ID}`,
        listen_routing: `listen_routing_${CONNECTOR_ID}`,
        listen_exchange: 'amqp.connector.exchange',
      },
    });
  });

  it('stores what pings send, and re-registration keeps it', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const api = await registered();
    expect(stub.state).toBeNull();

    await expect(api.pingConnector(CONNECTOR_ID, '{"cursor":1}', info)).resolves.toEqual({
      connectorState: '{"cursor":1}',
    });
    const again = await api.registerConnector(registerInput);

    expect(again.connectorState).toBe('{"cursor":1}');
    expect(stub.state).toBe('{"cursor":1}');
    expect(stub.connector?.info).toEqual(info);
  });

  it('lets the ping after a reset discard the sent state, once', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const api = await registered();
    await api.pingConnector(CONNECTOR_ID, '{"cursor":1}', info);

    stub.resetState();
    expect(stub.state).toBe('');
    expect(stub.connector?.resetPending).toBe(true);

    await expect(api.pingConnector(CONNECTOR_ID, '{"cursor":1}', info)).resolves.toEqual({
      connectorState: '',
    });
    expect(stub.state).toBe('');
    expect(stub.connector?.resetPending).toBe(false);

    await api.pingConnector(CONNECTOR_ID, 'null', info);
    expect(stub.state).toBe('null');
  });

  it('answers a wrong token as OpenCTI does: HTTP 200 with AUTH_REQUIRED', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });

    const error = await client({ token: 'wrong-token' })
      .healthCheck()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenCtiGraphQLError);
    expect(error).toMatchObject({ errorName: 'AUTH_REQUIRED', operation: 'HealthCheck' });
  });
});

describe('queue details', () => {
  it('reports the configured size, forbids when denied, and a reset purges it', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const api = await registered();

    stub.setQueueSize(750_000_000, 1800);
    await expect(api.queueDetails(CONNECTOR_ID)).resolves.toEqual({
      messagesNumber: 1800,
      messagesSize: 750_000_000,
    });

    stub.denyQueueDetails();
    await expect(api.queueDetails(CONNECTOR_ID)).rejects.toMatchObject({
      errorName: 'FORBIDDEN_ACCESS',
    });

    stub.denyQueueDetails(false);
    stub.resetState();
    await expect(api.queueDetails(CONNECTOR_ID)).resolves.toEqual({
      messagesNumber: 0,
      messagesSize: 0,
    });
  });
});

describe('works and bundles', () => {
  it('names works after the connector and a timestamp, and adds expectations up', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const api = await registered();

    const workId = await api.workAdd(CONNECTOR_ID, 'ThreatStream run');
    await api.workAddExpectations(workId, 2);
    await api.workAddExpectations(workId, 3);
    await api.workToProcessed(workId, 'partial failure', true);

    expect(workId).toMatch(new RegExp(`^work_${CONNECTOR_ID}_\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z$`));
    expect(stub.works).toEqual([
      {
        id: workId,
        connectorId: CONNECTOR_ID,
        name: 'ThreatStream run',
        status: 'progress',
        expectations: 5,
        processed: { message: 'partial failure', inError: true },
      },
    ]);
  });

  it('completes at once a work processed without expectations, as the platform does', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const api = await registered();
    const first = await api.workAdd(CONNECTOR_ID, 'first');
    const second = await api.workAdd(CONNECTOR_ID, 'second');

    await api.workToProcessed(first, 'nothing new', false);

    expect(first).not.toBe(second);
    expect(stub.works.map((w) => w.status)).toEqual(['complete', 'progress']);
  });

  it('records pushed bundles, opening a work when none is given', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const api = await registered();
    const workId = await api.workAdd(CONNECTOR_ID, 'run');
    const bundle = JSON.stringify({ type: 'bundle', id: 'bundle--1', objects: [{ id: 'x' }] });

    await api.stixBundlePush(CONNECTOR_ID, bundle, workId);
    await api.stixBundlePush(CONNECTOR_ID, bundle, null);
    const invalid = api.stixBundlePush(CONNECTOR_ID, '{"type":"bundle","objects":[]}', workId);

    await expect(invalid).rejects.toMatchObject({ errorName: 'UNSUPPORTED_ERROR' });
    expect(stub.bundles).toHaveLength(2);
    expect(stub.bundles[0]).toEqual({ connectorId: CONNECTOR_ID, workId, bundle });
    expect(stub.works).toHaveLength(2);
    expect(stub.works[1]?.name).toMatch(/^ThreatStream run @ /);
    expect(stub.works[1]?.expectations).toBe(1);
    expect(stub.bundles[1]?.workId).toBe(stub.works[1]?.id);
  });
});

describe('protocol violations', () => {
  // These tests break the protocol on purpose, so each takes what was recorded.
  it('answers a document the schema rejects with 400 and records it', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });

    const answer = await post({
      query:
        'mutation RegisterConnector { registerConnector(input: null) { config { s3 { endpoint } } } }',
    });

    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ errors: [{ name: 'GRAPHQL_VALIDATION_FAILED' }] });
    expect(stub.takeViolations()).toEqual([
      {
        reason: 'validation: Cannot query field "s3" on type "ConnectorConfig".',
        operationName: 'RegisterConnector',
        query: expect.stringContaining('s3') as unknown,
      },
    ]);
    expect(stub.calls()).toEqual([]);
  });

  it('records variables of the wrong type and anonymous operations', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });

    const badVariables = await post({
      query:
        'mutation WorkAddExpectations($id: ID!, $expectations: Int) { workEdit(id: $id) { addExpectations(expectations: $expectations) } }',
      variables: { id: 'work_1', expectations: '3' },
    });
    const anonymous = await post({ query: '{ about { version } }' });

    expect(badVariables.status).toBe(400);
    expect(anonymous.status).toBe(200);
    expect(stub.takeViolations().map((v) => v.reason)).toEqual([
      'variables: Variable "$expectations" got invalid value "3"; Int cannot represent non-integer value: "3"',
      'anonymous operation',
    ]);
  });

  it('checks every request, also one whose document it has validated before', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const invalid = { query: 'query About { about { nope } }' };
    const expectations = {
      query:
        'mutation WorkAddExpectations($id: ID!, $expectations: Int) { workEdit(id: $id) { addExpectations(expectations: $expectations) } }',
      variables: { id: 'work_1', expectations: 3 },
    };

    const answers = [
      await post(invalid),
      await post(invalid),
      await post(expectations),
      await post({ ...expectations, variables: { id: 'work_1', expectations: 'many' } }),
    ];

    expect(answers.map((a) => a.status)).toEqual([400, 400, 200, 400]);
    expect(stub.takeViolations().map((v) => v.reason)).toEqual([
      'validation: Cannot query field "nope" on type "AppInfo".',
      'validation: Cannot query field "nope" on type "AppInfo".',
      'variables: Variable "$expectations" got invalid value "many"; Int cannot represent non-integer value: "many"',
    ]);
    expect(stub.calls().map((c) => c.operationName)).toEqual(['WorkAddExpectations']);
  });
});

describe('failure injection and call log', () => {
  it('fails the next N calls of one operation with an HTTP status, then answers again', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const api = await registered();
    stub.failNext('PingConnector', { kind: 'http', status: 502 }, 2);

    for (let i = 0; i < 2; i += 1) {
      await expect(api.pingConnector(CONNECTOR_ID, 'null', info)).rejects.toMatchObject({
        status: 502,
      });
    }
    await api.queueDetails(CONNECTOR_ID);
    await api.pingConnector(CONNECTOR_ID, '{"cursor":2}', info);

    expect(stub.state).toBe('{"cursor":2}');
    expect(stub.calls('PingConnector').map((c) => c.failure)).toEqual(['http', 'http', undefined]);
  });

  it('answers a GraphQL error on HTTP 200 until cleared', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const api = await registered();
    const workId = await api.workAdd(CONNECTOR_ID, 'run');
    stub.failNext('WorkAddExpectations', { kind: 'graphql', name: 'LOCK_ERROR' }, Infinity);

    for (let i = 0; i < 3; i += 1) {
      await expect(api.workAddExpectations(workId, 1)).rejects.toMatchObject({
        errorName: 'LOCK_ERROR',
      });
    }
    stub.clearFailures();
    await api.workAddExpectations(workId, 1);

    expect(stub.works[0]?.expectations).toBe(1);
  });

  it('drops the connection before or after applying the call', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const api = await registered();
    await api.pingConnector(CONNECTOR_ID, '{"cursor":1}', info);
    stub.failNext('PingConnector', { kind: 'network' });
    stub.failNext('PingConnector', { kind: 'network', afterExecute: true });

    await expect(api.pingConnector(CONNECTOR_ID, '{"cursor":2}', info)).rejects.toBeInstanceOf(
      OpenCtiRequestError,
    );
    expect(stub.state).toBe('{"cursor":1}');
    await expect(api.pingConnector(CONNECTOR_ID, '{"cursor":3}', info)).rejects.toBeInstanceOf(
      OpenCtiRequestError,
    );
    expect(stub.state).toBe('{"cursor":3}');
  });

  it('delays an answer past the client timeout', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    stub.failNext('HealthCheck', { kind: 'delay', ms: 500 });

    await expect(client({ timeoutMs: 100 }).healthCheck()).rejects.toThrow(
      'OpenCTI HealthCheck: no answer within 100 ms',
    );
    await expect(client().healthCheck()).resolves.toBe('6.8.10');
  });

  it('logs every call in order with its variables and time', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const before = Date.now();
    const api = await registered();
    const workId = await api.workAdd(CONNECTOR_ID, 'run');
    await api.stixBundlePush(CONNECTOR_ID, '{"type":"bundle","objects":[{}]}', workId);
    await api.pingConnector(CONNECTOR_ID, '{"cursor":9}', info);

    const calls = stub.calls();
    expect(calls.map((c) => c.operationName)).toEqual([
      'RegisterConnector',
      'WorkAdd',
      'StixBundlePush',
      'PingConnector',
    ]);
    expect(calls.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
    expect(calls.every((c, i) => c.at >= before && c.at >= (calls[i - 1]?.at ?? before))).toBe(
      true,
    );
    expect(stub.calls('PingConnector')[0]?.variables).toEqual({
      id: CONNECTOR_ID,
      state: '{"cursor":9}',
      connectorInfo: info,
    });
  });
});

describe('serving another process', () => {
  it('answers a request from a child process over real HTTP', async () => {
    stub = await OpenCtiStub.start({ token: TOKEN });
    const script = `
      fetch(process.env.OPENCTI_URL + '/graphql', {
        method: 'POST',
        headers: { Authorization: 'Bearer ' + process.env.OPENCTI_TOKEN, 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: 'query HealthCheck { about { version } }' }),
      }).then((r) => r.text()).then((t) => process.stdout.write(t));
    `;

    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: { OPENCTI_URL: stub.url, OPENCTI_TOKEN: TOKEN },
    });

    expect(JSON.parse(stdout)).toEqual({ data: { about: { version: '6.8.10' } } });
    expect(stub.calls().map((c) => c.operationName)).toEqual(['HealthCheck']);
  });
});
