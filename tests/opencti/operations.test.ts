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
import {
  loadOpenCtiSchema,
  OpenCtiStub,
  type OpenCtiSchemaVersion,
} from '../../stand-ins/opencti/stub';

const SCHEMA_VERSIONS: readonly OpenCtiSchemaVersion[] = ['6.8', '7'];
const schemas = new Map(SCHEMA_VERSIONS.map((version) => [version, loadOpenCtiSchema(version)]));

function operationOf(document: string): OperationDefinitionNode {
  const operation = getOperationAST(parse(document));
  if (!operation) throw new Error('document holds no single operation');
  return operation;
}

function validationErrors(version: OpenCtiSchemaVersion, document: string): string[] {
  return validate(schemas.get(version)!, parse(document)).map((e) => e.message);
}

function variableErrors(
  version: OpenCtiSchemaVersion,
  document: string,
  variables: Record<string, unknown>,
): string[] {
  const { errors } = getVariableValues(
    schemas.get(version)!,
    operationOf(document).variableDefinitions ?? [],
    variables,
  );
  return (errors ?? []).map((e) => e.message);
}

const operationsByName = new Map(ALL_OPERATIONS.map((d) => [operationOf(d).name?.value, d]));
const namedOperations = ALL_OPERATIONS.map((d) => [operationOf(d).name?.value ?? '(anonymous)', d]);

describe.each(SCHEMA_VERSIONS)('operations against the OpenCTI %s schema', (version) => {
  it.each(namedOperations)('%s is valid', (_name, document) => {
    expect(validationErrors(version, document)).toEqual([]);
  });
});

describe('the operations', () => {
  it('names every operation, each name once', () => {
    const names = ALL_OPERATIONS.map((d) => operationOf(d).name?.value);
    expect(names).not.toContain(undefined);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      'HealthCheck',
      'RegisterConnectorInputFields',
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
    // Newer pycti also asks for config.s3, which 6.8 does not have and 7.x has.
    const withS3 = REGISTER_CONNECTOR.replace(
      'connector_user_id',
      'connector_user_id config { s3 { endpoint } }',
    );
    expect(validationErrors('6.8', withS3)).toEqual([
      'Cannot query field "s3" on type "ConnectorConfig".',
    ]);
    expect(validationErrors('7', withS3)).toEqual([]);
    for (const version of SCHEMA_VERSIONS) {
      // connector(id:) takes String!, not ID!.
      expect(validationErrors(version, 'query Q($id: ID!) { connector(id: $id) { id } }')).toEqual([
        'Variable "$id" of type "ID!" used in position expecting type "String!".',
      ]);
      expect(
        validationErrors(
          version,
          'mutation W($id: ID!) { workEdit(id: $id) { toProcessed(error: "x") } }',
        ),
      ).toEqual([
        'Unknown argument "error" on field "WorkEditMutations.toProcessed". Did you mean "inError"?',
      ]);
    }
  });
});

describe.each(SCHEMA_VERSIONS)('variables type-check against the OpenCTI %s schema', (version) => {
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
    const errors = (input: Record<string, unknown>) =>
      variableErrors(version, REGISTER_CONNECTOR, { input });
    expect(errors(registerInput)).toEqual([]);
    expect(errors({ ...registerInput, scope: [] })).toEqual([]);
    expect(errors({ ...registerInput, type: 'external_import' })).toHaveLength(1);
  });

  it('takes version and slug only where the schema lists them', () => {
    const input = { ...registerInput, version: '0.1.0', slug: 'anomali-threatstream' };
    const refused = ['version', 'slug'].map((field): unknown =>
      expect.stringContaining(`Field "${field}" is not defined by type "RegisterConnectorInput".`),
    );
    expect(variableErrors(version, REGISTER_CONNECTOR, { input })).toEqual(
      version === '6.8' ? refused : [],
    );
  });

  it('accepts connector_info with integral Floats, ISO dates and null dates', () => {
    expect(
      variableErrors(version, ping, { id: registerInput.id, state: 'null', connectorInfo: info }),
    ).toEqual([]);
    const noDates = { ...info, next_run_datetime: null };
    expect(
      variableErrors(version, ping, {
        id: registerInput.id,
        state: '{"a":1}',
        connectorInfo: noDates,
      }),
    ).toEqual([]);
  });

  it('refuses a malformed date, a threshold sent as text and a missing flag', () => {
    const cases = [
      { ...info, next_run_datetime: '22/11/2026 10:00' },
      { ...info, queue_threshold: '500' },
      { ...info, buffering: undefined },
    ];
    for (const connectorInfo of cases) {
      expect(variableErrors(version, ping, { id: 'c', state: 'null', connectorInfo })).toHaveLength(
        1,
      );
    }
  });

  it('every call OpenCtiApi makes sends variables the schema accepts', async () => {
    const stub = await OpenCtiStub.start({ token: 'variables-test-token', schema: version });
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
      const fields = await api.registerConnectorInputFields();
      expect(fields.has('enrichment_resolution')).toBe(true);
      expect(fields.has('version') && fields.has('slug')).toBe(version === '7');
      await api.registerConnector({
        ...input,
        ...(fields.has('version') && { version: '0.1.0' }),
        ...(fields.has('slug') && { slug: 'anomali-threatstream' }),
      });
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
        'RegisterConnectorInputFields',
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
        expect(variableErrors(version, document, call.variables)).toEqual([]);
      }
      expect(stub.violations).toEqual([]);
    } finally {
      await stub.close();
    }
  });
});
