import {
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type OperationDefinitionNode,
} from 'graphql';
import { OpenCtiApi, type ConnectorInfo, type RegisterInput } from '../../src/opencti/api';
import { ALL_OPERATIONS, REGISTER_CONNECTOR } from '../../src/opencti/operations';
import { silentLogger } from '../../src/log';
import { loadOpenCtiSchema, OpenCtiStub } from '../../stand-ins/opencti/stub';

const schema = loadOpenCtiSchema();

function operationOf(document: string): OperationDefinitionNode {
  const operation = getOperationAST(parse(document));
  if (!operation) throw new Error('document holds no single operation');
  return operation;
}

function validationErrors(document: string): string[] {
  return validate(schema, parse(document)).map((e) => e.message);
}

function variableErrors(document: string, variables: Record<string, unknown>): string[] {
  const { errors } = getVariableValues(
    schema,
    operationOf(document).variableDefinitions ?? [],
    variables,
  );
  return (errors ?? []).map((e) => e.message);
}

const operationsByName = new Map(ALL_OPERATIONS.map((d) => [operationOf(d).name?.value, d]));

describe('operations against the OpenCTI 6.8 schema', () => {
  it.each(ALL_OPERATIONS.map((d) => [operationOf(d).name?.value ?? '(anonymous)', d]))(
    '%s is valid',
    (_name, document) => {
      expect(validationErrors(document)).toEqual([]);
    },
  );

  it('names every operation, each name once', () => {
    const names = ALL_OPERATIONS.map((d) => operationOf(d).name?.value);
    expect(names).not.toContain(undefined);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      'HealthCheck',
      'RegisterConnector',
      'PingConnector',
      'ConnectorQueueDetails',
      'WorkAdd',
      'WorkAddExpectations',
      'WorkToProcessed',
      'StixBundlePush',
      'IndicatorsHeld',
    ]);
  });

  it('rejects what 6.8 lacks or types differently, so the check can fail', () => {
    // Newer pycti also asks for config.s3, which 6.8 does not have.
    const withS3 = REGISTER_CONNECTOR.replace(
      'connector_user_id',
      'connector_user_id config { s3 { endpoint } }',
    );
    expect(validationErrors(withS3)).toEqual([
      'Cannot query field "s3" on type "ConnectorConfig".',
    ]);
    // connector(id:) takes String!, not ID!.
    expect(validationErrors('query Q($id: ID!) { connector(id: $id) { id } }')).toEqual([
      'Variable "$id" of type "ID!" used in position expecting type "String!".',
    ]);
    expect(
      validationErrors('mutation W($id: ID!) { workEdit(id: $id) { toProcessed(error: "x") } }'),
    ).toEqual([
      'Unknown argument "error" on field "WorkEditMutations.toProcessed". Did you mean "inError"?',
    ]);
  });
});

describe('variables type-check against the operations', () => {
  const registerInput = {
    id: '2d4b1c5e-8f0a-4b7e-9c3d-1a2b3c4d5e6f',
    name: 'ThreatStream',
    type: 'EXTERNAL_IMPORT',
    scope: ['threatstream'],
    auto: false,
    auto_update: false,
    enrichment_resolution: 'none',
    only_contextual: false,
    playbook_compatible: false,
    listen_callback_uri: null,
  };
  const info = {
    run_and_terminate: false,
    buffering: false,
    queue_threshold: 500,
    queue_messages_size: 0.25,
    next_run_datetime: '2026-11-22T10:00:00Z',
    last_run_datetime: null,
  };
  const ping = operationsByName.get('PingConnector') ?? '';

  it('accepts the registration input pycti sends, and refuses a lower-case type', () => {
    expect(variableErrors(REGISTER_CONNECTOR, { input: registerInput })).toEqual([]);
    expect(variableErrors(REGISTER_CONNECTOR, { input: { ...registerInput, scope: [] } })).toEqual(
      [],
    );
    expect(
      variableErrors(REGISTER_CONNECTOR, { input: { ...registerInput, type: 'external_import' } }),
    ).toHaveLength(1);
  });

  it('accepts connector_info with integral Floats, ISO dates and null dates', () => {
    expect(
      variableErrors(ping, { id: registerInput.id, state: 'null', connectorInfo: info }),
    ).toEqual([]);
    const noDates = { ...info, next_run_datetime: null };
    expect(
      variableErrors(ping, { id: registerInput.id, state: '{"a":1}', connectorInfo: noDates }),
    ).toEqual([]);
  });

  it('refuses a malformed date, a threshold sent as text and a missing flag', () => {
    const cases = [
      { ...info, next_run_datetime: '22/11/2026 10:00' },
      { ...info, queue_threshold: '500' },
      { ...info, buffering: undefined },
    ];
    for (const connectorInfo of cases) {
      expect(variableErrors(ping, { id: 'c', state: 'null', connectorInfo })).toHaveLength(1);
    }
  });

  it('every call OpenCtiApi makes sends variables the schema accepts', async () => {
    const stub = await OpenCtiStub.start({ token: 'variables-test-token' });
    try {
      const api = new OpenCtiApi({
        url: stub.url,
        token: 'variables-test-token',
        sslVerify: true,
        timeoutMs: 5000,
        logger: silentLogger(),
      });
      const input: RegisterInput = {
        ...registerInput,
        type: 'EXTERNAL_IMPORT',
        listen_callback_uri: null,
      };
      const connectorInfo: ConnectorInfo = info;
      await api.healthCheck();
      await api.registerConnector(input);
      await api.pingConnector(input.id, 'null', connectorInfo);
      await api.queueDetails(input.id);
      const workId = await api.workAdd(input.id, 'ThreatStream run @ 2026-11-22T10:00:00Z');
      await api.workAddExpectations(workId, 3);
      await api.stixBundlePush(
        input.id,
        '{"type":"bundle","id":"bundle--1","objects":[{}]}',
        workId,
      );
      await api.stixBundlePush(input.id, '{"type":"bundle","id":"bundle--2","objects":[{}]}', null);
      await api.workToProcessed(workId, 'done', false);

      const calls = stub.calls();
      expect(calls.map((c) => c.operationName)).toEqual([
        'HealthCheck',
        'RegisterConnector',
        'PingConnector',
        'ConnectorQueueDetails',
        'WorkAdd',
        'WorkAddExpectations',
        'StixBundlePush',
        'StixBundlePush',
        'WorkToProcessed',
      ]);
      for (const call of calls) {
        const document = operationsByName.get(call.operationName) ?? '';
        expect(variableErrors(document, call.variables)).toEqual([]);
      }
      expect(stub.violations).toEqual([]);
    } finally {
      await stub.close();
    }
  });
});
