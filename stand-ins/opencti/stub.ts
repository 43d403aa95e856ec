import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  buildSchema,
  execute,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  GraphQLScalarType,
  parse,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { ConnectorInfo } from '../../src/opencti/api';

/**
 * A local stand-in for the OpenCTI GraphQL API, 6.8 or 7.x, served over real HTTP on 127.0.0.1 so
 * that a daemon running as a child process can use it too. Every request is checked against the
 * chosen schema subset beside this file; anything the real platform would reject is answered the
 * way Apollo answers it and recorded in `violations`. Answers are produced by graphql-js `execute`,
 * so their shape is the schema's.
 */

/** The platform versions the stand-in can play; each has its schema subset beside this file. */
export type OpenCtiSchemaVersion = '6.8' | '7';

/** The tools build copies them next to the compiled file (package.json, build:tools). */
const SUBSET_SDL: Record<OpenCtiSchemaVersion, string> = {
  '6.8': path.join(__dirname, 'opencti-6.8-subset.graphql'),
  '7': path.join(__dirname, 'opencti-7-subset.graphql'),
};

/** What `about { version }` answers unless told otherwise: the release each subset was read from. */
const PLATFORM_VERSION: Record<OpenCtiSchemaVersion, string> = {
  '6.8': '6.8.10',
  '7': '7.260817.0',
};

const RFC3339_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The subset schema. DateTime accepts only RFC 3339 date-time strings, as the platform's
 * graphql-scalars DateTime does for string input, so a badly formatted date fails here too.
 */
export function loadOpenCtiSchema(version: OpenCtiSchemaVersion = '6.8'): GraphQLSchema {
  const schema = buildSchema(readFileSync(SUBSET_SDL[version], 'utf8'));
  const dateTime = schema.getType('DateTime');
  if (!(dateTime instanceof GraphQLScalarType)) throw new Error('DateTime missing from the SDL');
  dateTime.parseValue = (value) => {
    if (typeof value === 'string' && RFC3339_DATE_TIME.test(value)) return value;
    throw new TypeError(`DateTime cannot represent ${JSON.stringify(value)}`);
  };
  return schema;
}

export interface BrokerConnection {
  host: string;
  port: number;
  vhost: string;
  use_ssl: boolean;
  user: string;
  pass: string;
}

export interface OpenCtiStubOptions {
  token: string;
  /** The id of the user owning the token; registration returns it as `connector_user_id`. */
  connectorUserId?: string;
  /** The schema every request is checked against; 6.8 unless told otherwise. */
  schema?: OpenCtiSchemaVersion;
  platformVersion?: string;
  /** What registration hands out; the host defaults to a docker-internal name, as in production. */
  broker?: Partial<BrokerConnection>;
  /** The state the platform already stores when the connector registers for the first time. */
  storedState?: string | null;
}

/** What a ping carries; the platform stores it as sent. */
export type StubConnectorInfo = ConnectorInfo;

export interface StubConnector {
  id: string;
  name: string;
  type: string;
  scope: string[];
  state: string | null;
  /** Set by `resetState()`, consumed by the next ping. */
  resetPending: boolean;
  info: StubConnectorInfo | null;
}

export interface StubWork {
  id: string;
  connectorId: string;
  name: string | null;
  /** 'complete' once processed with no expectations, as the platform does; no worker runs here. */
  status: 'progress' | 'complete';
  expectations: number;
  processed: { message: string | null; inError: boolean } | null;
}

export interface StubBundlePush {
  connectorId: string;
  workId: string;
  bundle: string;
}

export type StubFailure =
  /** With `headers`, the body is sent as is: e.g. a gzip bomb with `content-encoding: gzip`. */
  | { kind: 'http'; status: number; body?: string | Buffer; headers?: Record<string, string> }
  | { kind: 'graphql'; name: string; message?: string }
  /** Destroys the socket; with `afterExecute` the platform applies the call and the answer is lost. */
  | { kind: 'network'; afterExecute?: boolean }
  | { kind: 'delay'; ms: number }
  /** Answers once `until` resolves, as a platform busy with the call for as long as a test needs. */
  | { kind: 'hold'; until: Promise<void> };

export interface StubCall {
  seq: number;
  operationName: string;
  variables: Record<string, unknown>;
  /** Date.now() when the request arrived. */
  at: number;
  failure?: StubFailure['kind'];
}

export interface StubViolation {
  reason: string;
  operationName: string | null;
  query?: string;
}

const DEFAULT_BROKER: BrokerConnection = {
  host: 'rabbitmq',
  port: 5672,
  vhost: '/',
  use_ssl: false,
  user: 'opencti',
  pass: 'opencti-broker-password',
};

const DEFAULT_CONNECTOR_USER_ID = '6a3ad48e-9a8c-4b5e-8f7e-3f1c2d0b9e41';

interface GraphQLRequestBody {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

interface CheckedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
}

type Reply = (status: number, body: unknown) => void;

/** Answers with JSON, unless the client is gone. */
function replier(req: http.IncomingMessage, res: http.ServerResponse): Reply {
  return (status, body) => {
    if (req.socket.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
}

function requestError(reply: Reply, code: string, message: string): void {
  reply(400, { errors: [{ message, extensions: { code }, name: code }] });
}

/**
 * Plays an injected failure that comes before the operation runs; true when it answered (or cut)
 * the request. A delay or a hold only postpones it.
 */
async function failedBeforeExecuting(
  failure: StubFailure | undefined,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  reply: Reply,
): Promise<boolean> {
  if (failure?.kind === 'delay') await sleep(failure.ms);
  if (failure?.kind === 'hold') await failure.until;
  if (failure?.kind === 'http') {
    res.writeHead(failure.status, failure.headers ?? { 'content-type': 'text/html' });
    res.end(failure.body ?? `<html><body>${failure.status}</body></html>`);
    return true;
  }
  if (failure?.kind === 'graphql') {
    const error = platformError(failure.name, failure.message ?? failure.name, 500);
    reply(200, { errors: [formatError(error)], data: null });
    return true;
  }
  if (failure?.kind === 'network' && !failure.afterExecute) {
    req.socket.destroy();
    return true;
  }
  return false;
}

interface RequestContext {
  authenticated: boolean;
}

interface RegisterArgs {
  id: string;
  name: string;
  type: string;
  scope?: string[] | null;
}

interface StubFilterGroup {
  filters: { key: string[]; values: unknown[] }[];
}

interface PingArgs {
  id: string;
  state?: string | null;
  connectorInfo?: StubConnectorInfo | null;
}

/** An error as OpenCTI raises it: the code goes to `extensions.code`, and the formatter copies it to `name`. */
function platformError(code: string, message: string, httpStatus: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code, data: { http_status: httpStatus, genre: 'TECHNICAL' } },
  });
}

function requireAuth(context: RequestContext): void {
  if (!context.authenticated) {
    throw platformError('AUTH_REQUIRED', 'You must be logged in to do this.', 401);
  }
}

function formatError(error: GraphQLError): Record<string, unknown> {
  const code = error.extensions.code;
  return { ...error.toJSON(), name: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR' };
}

function isAuthorized(header: string | undefined, token: string): boolean {
  return header === `Bearer ${token}`;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export class OpenCtiStub {
  private readonly schema: GraphQLSchema;
  /** Documents that passed validation, by their text. */
  private readonly validDocuments = new Map<string, DocumentNode>();
  private readonly server: http.Server;
  private readonly connectors = new Map<string, StubConnector>();
  private readonly workList: StubWork[] = [];
  private readonly bundleList: StubBundlePush[] = [];
  private readonly callList: StubCall[] = [];
  private readonly violationList: StubViolation[] = [];
  private readonly failures = new Map<string, { failure: StubFailure; remaining: number }[]>();
  private readonly broker: BrokerConnection;
  private queue = { messages: 0, bytes: 0 };
  private queueDenied = false;
  private indicatorsDenied = false;
  /** Standard ids of the indicators the platform's workers have imported. */
  private readonly heldIndicators = new Set<string>();
  private lastWorkTime = 0;
  private port = 0;

  private constructor(private readonly options: OpenCtiStubOptions) {
    this.schema = loadOpenCtiSchema(options.schema);
    this.broker = { ...DEFAULT_BROKER, ...options.broker };
    this.server = http.createServer((req, res) => {
      // A client that hangs up mid-request is no concern of the test; drop its socket.
      this.handle(req, res).catch(() => req.socket.destroy());
    });
  }

  static async start(options: OpenCtiStubOptions): Promise<OpenCtiStub> {
    const stub = new OpenCtiStub(options);
    stub.server.listen(0, '127.0.0.1');
    await once(stub.server, 'listening');
    stub.port = (stub.server.address() as AddressInfo).port;
    return stub;
  }

  /** Base URL to configure as OPENCTI_URL; the same while offline. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** As a platform that is down or restarting: connections are refused; what it stores is kept. */
  async goOffline(): Promise<void> {
    await this.close();
  }

  /** Answers again, on the same address. */
  async goOnline(): Promise<void> {
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
  }

  /** Stored `connector_state` of the registered connector; undefined until one registers. */
  get state(): string | null | undefined {
    return this.registered()?.state;
  }

  /** The registered connector as the platform stores it; undefined until one registers. */
  get connector(): Readonly<StubConnector> | undefined {
    return this.registered();
  }

  get works(): readonly Readonly<StubWork>[] {
    return this.workList;
  }

  get bundles(): readonly StubBundlePush[] {
    return this.bundleList;
  }

  get violations(): readonly StubViolation[] {
    return this.violationList;
  }

  /** Returns and forgets the violations so far, for tests that break the protocol on purpose. */
  takeViolations(): StubViolation[] {
    return this.violationList.splice(0);
  }

  /** Every request that reached an operation, in arrival order; filtered by name when given. */
  calls(operationName?: string): StubCall[] {
    return this.callList.filter(
      (c) => operationName === undefined || c.operationName === operationName,
    );
  }

  /** What the UI's "reset state" does: empties the state, flags the reset and purges the queues. */
  resetState(): void {
    const connector = this.registered();
    if (!connector) throw new Error('resetState: no connector has registered yet');
    connector.state = '';
    connector.resetPending = true;
    this.queue = { messages: 0, bytes: 0 };
  }

  /** What RabbitMQ reports for the connector's queues (`message_bytes` summed). */
  setQueueSize(bytes: number, messages = bytes > 0 ? 1 : 0): void {
    this.queue = { messages, bytes };
  }

  /** Answers the queue-size query with FORBIDDEN_ACCESS, as for a token without MODULES. */
  denyQueueDetails(denied = true): void {
    this.queueDenied = denied;
  }

  /** What the platform's workers do with the messages: the indicators among them now exist. */
  importIndicators(ids: Iterable<string>): void {
    for (const id of ids) this.heldIndicators.add(id);
  }

  /** Answers the indicators query with FORBIDDEN_ACCESS, as for a user without knowledge access. */
  denyIndicators(denied = true): void {
    this.indicatorsDenied = denied;
  }

  /** The next `count` calls of the operation fail as described; `Infinity` until `clearFailures`. */
  failNext(operationName: string, failure: StubFailure, count = 1): void {
    const queue = this.failures.get(operationName) ?? [];
    queue.push({ failure, remaining: count });
    this.failures.set(operationName, queue);
  }

  clearFailures(operationName?: string): void {
    if (operationName === undefined) this.failures.clear();
    else this.failures.delete(operationName);
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  private registered(): StubConnector | undefined {
    if (this.connectors.size > 1) throw new Error('several connectors registered; use one id');
    return this.connectors.values().next().value;
  }

  private violation(reason: string, operationName: string | null, query?: string): void {
    this.violationList.push({ reason, operationName, ...(query === undefined ? {} : { query }) });
  }

  private takeFailure(operationName: string): StubFailure | undefined {
    const queue = this.failures.get(operationName);
    const next = queue?.[0];
    if (!queue || !next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) queue.shift();
    return next.failure;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = replier(req, res);
    const body = await this.readRequest(req, res, reply);
    if (body === undefined) return;
    const checked = this.checkOperation(body, reply);
    if (checked === undefined) return;
    const { document, operation, variables } = checked;
    const name = operation.name?.value ?? '(anonymous)';
    const failure = this.takeFailure(name);
    this.callList.push({
      seq: this.callList.length + 1,
      operationName: name,
      variables,
      at: Date.now(),
      ...(failure ? { failure: failure.kind } : {}),
    });
    if (await failedBeforeExecuting(failure, req, res, reply)) return;
    const context: RequestContext = {
      authenticated: isAuthorized(req.headers.authorization, this.options.token),
    };
    const result = await this.run(document, operation, context, variables);
    if (failure?.kind === 'network') {
      req.socket.destroy();
      return;
    }
    reply(200, result);
  }

  /** The JSON body of a POST to /graphql; undefined once anything else was answered. */
  private async readRequest(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    reply: Reply,
  ): Promise<GraphQLRequestBody | undefined> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/graphql') {
      this.violation(`${req.method} ${req.url}: only POST /graphql is served`, null);
      res.writeHead(404).end();
      return undefined;
    }
    const contentType = req.headers['content-type'];
    if (!contentType?.startsWith('application/json')) {
      this.violation(`content-type ${contentType} instead of application/json`, null);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as GraphQLRequestBody;
    } catch {
      this.violation('body is not JSON', null);
      requestError(reply, 'BAD_REQUEST', 'POST body is not JSON');
      return undefined;
    }
  }

  /**
   * The operation to run, checked as the platform checks it: parsed, valid against the schema,
   * one named operation, variables of their declared types. Undefined once an error was answered.
   */
  private checkOperation(body: GraphQLRequestBody, reply: Reply): CheckedOperation | undefined {
    const query = typeof body.query === 'string' ? body.query : '';
    const variables = (body.variables ?? {}) as Record<string, unknown>;
    const requested = typeof body.operationName === 'string' ? body.operationName : undefined;
    const document = this.validDocument(query, requested, reply);
    if (document === undefined) return undefined;
    const operation = getOperationAST(document, requested);
    const operationName = operation?.name?.value ?? null;
    if (!operation) {
      const message = 'no single operation to run';
      this.violation(`validation: ${message}`, operationName, query);
      requestError(reply, 'GRAPHQL_VALIDATION_FAILED', message);
      return undefined;
    }
    if (!operationName) this.violation('anonymous operation', null, query);
    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], variables);
    if (coerced.errors) {
      const message = coerced.errors[0]?.message ?? 'bad variables';
      this.violation(`variables: ${message}`, operationName, query);
      requestError(reply, 'BAD_USER_INPUT', message);
      return undefined;
    }
    return { document, operation, variables };
  }

  /** As the platform's Apollo server does, a document is parsed and validated once, then reused. */
  private validDocument(
    query: string,
    requested: string | undefined,
    reply: Reply,
  ): DocumentNode | undefined {
    const known = this.validDocuments.get(query);
    if (known !== undefined) return known;
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      this.violation(`parse: ${(error as Error).message}`, null, query);
      requestError(reply, 'GRAPHQL_PARSE_FAILED', (error as Error).message);
      return undefined;
    }
    const invalid = validate(this.schema, document);
    if (invalid.length > 0) {
      const message = invalid[0]!.message;
      const operationName = getOperationAST(document, requested)?.name?.value ?? null;
      this.violation(`validation: ${message}`, operationName, query);
      requestError(reply, 'GRAPHQL_VALIDATION_FAILED', message);
      return undefined;
    }
    this.validDocuments.set(query, document);
    return document;
  }

  private async run(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    context: RequestContext,
    variables: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const result = await execute({
      schema: this.schema,
      document,
      operationName: operation.name?.value ?? null,
      rootValue: this.resolvers,
      contextValue: context,
      variableValues: variables,
    });
    return {
      ...(result.errors ? { errors: result.errors.map(formatError) } : {}),
      data: result.data ?? null,
    };
  }

  private connectorView(connector: StubConnector): Record<string, unknown> {
    return {
      id: connector.id,
      connector_state: connector.state,
      connector_user_id: this.options.connectorUserId ?? DEFAULT_CONNECTOR_USER_ID,
      connector_info: connector.info,
      connector_queue_details: () => {
        if (this.queueDenied) {
          throw platformError('FORBIDDEN_ACCESS', 'You are not allowed to do this.', 403);
        }
        return { messages_number: this.queue.messages, messages_size: this.queue.bytes };
      },
      config: {
        connection: this.broker,
        listen: `listen_${connector.id}`,
        listen_routing: `listen_routing_${connector.id}`,
        listen_exchange: 'amqp.connector.exchange',
        push: `push_${connector.id}`,
        push_routing: `push_routing_${connector.id}`,
        push_exchange: 'amqp.worker.exchange',
      },
    };
  }

  /** Work ids embed a millisecond timestamp; keep them unique when two works start in the same ms. */
  private newWork(connectorId: string, name: string | null): StubWork {
    this.lastWorkTime = Math.max(Date.now(), this.lastWorkTime + 1);
    const id = `work_${connectorId}_${new Date(this.lastWorkTime).toISOString()}`;
    const work: StubWork = {
      id,
      connectorId,
      name,
      status: 'progress',
      expectations: 0,
      processed: null,
    };
    this.workList.push(work);
    return work;
  }

  /** Root resolvers for the fields the connector asks for, following the platform's domain code. */
  private readonly resolvers = {
    about: (_args: unknown, context: RequestContext) => {
      requireAuth(context);
      const { platformVersion, schema = '6.8' } = this.options;
      return { version: platformVersion ?? PLATFORM_VERSION[schema] };
    },

    registerConnector: (args: { input: RegisterArgs | null }, context: RequestContext) => {
      requireAuth(context);
      if (!args.input) throw platformError('FUNCTIONAL_ERROR', 'Missing input', 500);
      const { id, name, type, scope } = args.input;
      const existing = this.connectors.get(id);
      // Re-registration updates the description but never the stored state.
      const connector: StubConnector = {
        id,
        name,
        type,
        scope: scope ?? [],
        state: existing ? existing.state : (this.options.storedState ?? null),
        resetPending: existing?.resetPending ?? false,
        info: existing?.info ?? null,
      };
      this.connectors.set(id, connector);
      return this.connectorView(connector);
    },

    pingConnector: (args: PingArgs, context: RequestContext) => {
      requireAuth(context);
      const connector = this.connectors.get(args.id);
      if (!connector) {
        throw platformError('FUNCTIONAL_ERROR', 'No connector found with the specified ID', 500);
      }
      // A pending reset wins over the state the connector sends: only the flag is cleared.
      if (connector.resetPending) connector.resetPending = false;
      else connector.state = args.state ?? null;
      if (args.connectorInfo) connector.info = args.connectorInfo;
      return this.connectorView(connector);
    },

    connector: (args: { id: string }, context: RequestContext) => {
      requireAuth(context);
      const connector = this.connectors.get(args.id);
      return connector ? this.connectorView(connector) : null;
    },

    workAdd: (
      args: { connectorId: string; friendlyName?: string | null },
      context: RequestContext,
    ) => {
      requireAuth(context);
      if (!this.connectors.has(args.connectorId)) {
        throw platformError('INTERNAL_SERVER_ERROR', `unknown connector ${args.connectorId}`, 500);
      }
      return this.newWork(args.connectorId, args.friendlyName ?? null);
    },

    // An unknown work id is not an error on the platform: it logs a warning and answers the id.
    workEdit: (args: { id: string }, context: RequestContext) => {
      requireAuth(context);
      const work = this.workList.find((w) => w.id === args.id);
      return {
        addExpectations: ({ expectations }: { expectations?: number | null }) => {
          if (work) work.expectations += expectations ?? 0;
          return args.id;
        },
        toProcessed: ({
          message,
          inError,
        }: {
          message?: string | null;
          inError?: boolean | null;
        }) => {
          if (work) {
            work.processed = { message: message ?? null, inError: inError ?? false };
            if (work.expectations === 0) work.status = 'complete';
          }
          return args.id;
        },
      };
    },

    /** Only the `ids` filter the connector sends is understood; others are a violation. */
    indicators: (
      args: { first?: number | null; filters?: StubFilterGroup | null },
      context: RequestContext,
    ) => {
      requireAuth(context);
      if (this.indicatorsDenied) {
        throw platformError('FORBIDDEN_ACCESS', 'You are not allowed to do this.', 403);
      }
      const filters = args.filters?.filters ?? [];
      const ids =
        filters.length === 1 && filters[0]!.key.join() === 'ids' ? filters[0]!.values : [];
      if (ids.length === 0)
        this.violation('indicators: expected one `ids` filter', 'IndicatorsHeld');
      const held = ids.filter((id) => typeof id === 'string' && this.heldIndicators.has(id));
      const edges = held.slice(0, args.first ?? 500).map((id) => ({
        cursor: String(id),
        node: { id: `internal-${String(id)}`, standard_id: id, x_opencti_stix_ids: [] },
      }));
      const pageInfo = {
        startCursor: '',
        endCursor: '',
        hasNextPage: false,
        hasPreviousPage: false,
        globalCount: edges.length,
      };
      return { pageInfo, edges };
    },

    stixBundlePush: (
      args: { connectorId: string; bundle: string; work_id?: string | null },
      context: RequestContext,
    ) => {
      requireAuth(context);
      const connector = this.connectors.get(args.connectorId);
      const objects = bundleObjectCount(args.bundle);
      if (!connector || objects === 0) {
        throw platformError('UNSUPPORTED_ERROR', 'Invalid bundle', 500);
      }
      let workId = args.work_id;
      if (!workId) {
        const work = this.newWork(
          connector.id,
          `${connector.name} run @ ${new Date().toISOString()}`,
        );
        if (objects === 1) work.expectations = 1;
        workId = work.id;
      }
      this.bundleList.push({ connectorId: connector.id, workId, bundle: args.bundle });
      return true;
    },
  };
}

/** 0 when the text is not a STIX bundle with objects, which the platform refuses. */
function bundleObjectCount(text: string): number {
  try {
    const bundle = JSON.parse(text) as { type?: unknown; objects?: unknown };
    return bundle.type === 'bundle' && Array.isArray(bundle.objects) ? bundle.objects.length : 0;
  } catch {
    return 0;
  }
}
