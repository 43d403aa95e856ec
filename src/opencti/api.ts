import https from 'node:https';
import { inspect } from 'node:util';
import axios from 'axios';
import { ClientError, GraphQLClient, type Variables } from 'graphql-request';
import { z } from 'zod';
import { redactThenTruncate, type Logger } from '../log';
import {
  CallDeadlines,
  OPENCTI_TIMEOUTS_MS,
  STOPPING_TIMEOUT_MS,
  type CallDeadline,
  type OpenCtiOperation,
} from './deadlines';
import {
  CONNECTOR_QUEUE_DETAILS,
  HEALTH_CHECK,
  INDICATORS_HELD,
  PING_CONNECTOR,
  REGISTER_CONNECTOR,
  REGISTER_CONNECTOR_INPUT_FIELDS,
  STIX_BUNDLE_PUSH,
  WORK_ADD,
  WORK_ADD_EXPECTATIONS,
  WORK_TO_PROCESSED,
} from './operations';

export interface OpenCtiApiOptions {
  /** Platform base URL; requests go to `{url}/graphql`. */
  url: string;
  token: string;
  sslVerify: boolean;
  /** One hard deadline for every call, answer included, instead of each operation's own. */
  timeoutMs?: number;
  /** The connector's stop: from then on, no call waits more than a couple of seconds. */
  stop?: AbortSignal;
  logger: Logger;
  userAgent?: string;
}

/** The `RegisterConnectorInput` pycti sends (`OpenCTIConnector.to_input`). */
export interface RegisterInput {
  id: string;
  name: string;
  type: 'EXTERNAL_IMPORT';
  scope: string[];
  auto: boolean;
  only_contextual: boolean;
  playbook_compatible: boolean;
  auto_update: boolean;
  enrichment_resolution: string;
  listen_callback_uri?: null;
  /** Only for platforms whose input lists it (see `registerConnectorInputFields`). */
  version?: string;
  /** Only for platforms whose input lists it. */
  slug?: string;
}

export interface BrokerConfig {
  connection: {
    host: string;
    vhost: string;
    use_ssl: boolean;
    port: number;
    user: string;
    pass: string;
  };
  push: string;
  push_routing: string;
  push_exchange: string;
  listen: string;
  listen_routing: string;
  listen_exchange: string;
}

export interface Registration {
  id: string;
  /** The state stored on the platform: null, '', 'null' or a JSON object string. */
  connectorState: string | null;
  /** The token's user; workers impersonate it when ingesting what the connector sends. */
  connectorUserId: string | null;
  config: BrokerConfig;
}

/** `ConnectorInfoInput`: sizes in decimal MB, dates as ISO-8601 strings. */
export interface ConnectorInfo {
  run_and_terminate: boolean;
  buffering: boolean;
  queue_threshold: number;
  queue_messages_size: number;
  next_run_datetime: string | null;
  last_run_datetime: string | null;
}

/** The exchange failed: network error, timeout, a status other than 200, or an unreadable answer. */
export class OpenCtiRequestError extends Error {
  override readonly name = 'OpenCtiRequestError';
  readonly status?: number;

  constructor(
    readonly operation: string,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(`OpenCTI ${operation}: ${message}`, { cause: options.cause });
    if (options.status !== undefined) this.status = options.status;
  }
}

export interface GraphQLErrorSummary {
  name: string;
  message: string;
}

/** OpenCTI error names that mean the token is wrong or lacks the connector capability. */
const AUTH_ERRORS = new Set([
  'AUTH_REQUIRED',
  'FORBIDDEN_ACCESS',
  'ForbiddenAccess',
  'AuthRequired',
]);

/** HTTP 200 whose body carries `errors[]` (FORBIDDEN_ACCESS, LOCK_ERROR, AUTH_REQUIRED …). */
export class OpenCtiGraphQLError extends Error {
  override readonly name = 'OpenCtiGraphQLError';
  /** `errors[0].name`, else `errors[0].extensions.code`, as pycti reads it. */
  readonly errorName: string;
  /** A wrong token or a missing capability: no retry can fix it. */
  readonly permanent: boolean;

  constructor(
    readonly operation: string,
    readonly errors: readonly GraphQLErrorSummary[],
  ) {
    const first = errors[0] ?? { name: 'UNKNOWN', message: 'empty errors[]' };
    super(`OpenCTI ${operation}: ${first.name}: ${first.message}`);
    this.errorName = first.name;
    this.permanent = AUTH_ERRORS.has(first.name);
  }
}

const graphQLErrorSchema = z.looseObject({
  message: z.string().catch('(no message)'),
  name: z.string().optional().catch(undefined),
  extensions: z.looseObject({ code: z.string().optional().catch(undefined) }).optional(),
});

function summarizeErrors(errors: readonly unknown[]): GraphQLErrorSummary[] {
  return errors.map((raw) => {
    const parsed = graphQLErrorSchema.safeParse(raw);
    if (!parsed.success) return { name: 'UNKNOWN', message: String(raw) };
    const { name, extensions, message } = parsed.data;
    return { name: name ?? extensions?.code ?? 'UNKNOWN', message };
  });
}

const healthCheckData = z.object({ about: z.object({ version: z.string() }) });

/** `__type` is null for a type the schema lacks; `inputFields` is null for a type that is no input. */
const inputFieldsData = z.object({
  __type: z.object({ inputFields: z.array(z.object({ name: z.string() })).nullable() }).nullable(),
});

const registerData = z.object({
  registerConnector: z.object({
    id: z.string(),
    connector_state: z.string().nullable(),
    connector_user_id: z.string().nullable(),
    config: z.object({
      connection: z.object({
        host: z.string(),
        vhost: z.string(),
        use_ssl: z.boolean(),
        port: z.number().int(),
        user: z.string(),
        pass: z.string(),
      }),
      push: z.string(),
      push_routing: z.string(),
      push_exchange: z.string(),
      listen: z.string(),
      listen_routing: z.string(),
      listen_exchange: z.string(),
    }),
  }),
});

const pingData = z.object({
  pingConnector: z.object({ id: z.string(), connector_state: z.string().nullable() }),
});

const queueDetailsData = z.object({
  connector: z.object({
    connector_queue_details: z.object({ messages_number: z.number(), messages_size: z.number() }),
  }),
});

const workAddData = z.object({ workAdd: z.object({ id: z.string() }) });
const addExpectationsData = z.object({ workEdit: z.object({ addExpectations: z.string() }) });
const toProcessedData = z.object({ workEdit: z.object({ toProcessed: z.string() }) });
const bundlePushData = z.object({ stixBundlePush: z.boolean().nullable() });
const indicatorsHeldData = z.object({
  indicators: z.object({
    edges: z.array(
      z.object({
        node: z.object({
          standard_id: z.string(),
          x_opencti_stix_ids: z.array(z.string()).nullish(),
        }),
      }),
    ),
  }),
});

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * OpenCTI's answers are a few kilobytes; the limit (on the inflated body) leaves room for a large
 * stored state and keeps a compressed answer that inflates to gigabytes out of memory.
 */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** Upstream text kept in an error: enough to recognise a proxy's error page. */
const ANSWER_SNIPPET_CHARS = 300;

/**
 * A `fetch` for graphql-request that goes through axios: Node's global fetch cannot take an
 * https.Agent, and without one TLS verification cannot be turned off. Axios errors are rebuilt
 * without their request config, which holds the Authorization header.
 */
function fetchThroughAxios(httpsAgent: https.Agent): typeof fetch {
  return async (input, init) => {
    const signal = init?.signal ?? undefined;
    try {
      const response = await axios.request<string>({
        url: input instanceof Request ? input.url : String(input),
        method: init?.method ?? 'POST',
        headers: Object.fromEntries(new Headers(init?.headers).entries()),
        data: init?.body ?? null,
        ...(signal ? { signal } : {}),
        httpsAgent,
        responseType: 'text',
        transformResponse: (data: string) => data,
        validateStatus: () => true,
        // A redirect is a misconfigured URL; following it would resend the token elsewhere.
        maxRedirects: 0,
        maxContentLength: MAX_ANSWER_BYTES,
      });
      const headers = new Headers();
      for (const [key, value] of Object.entries(response.headers)) {
        if (value !== undefined && value !== null) headers.set(key, String(value));
      }
      const body = NULL_BODY_STATUSES.has(response.status) ? null : response.data;
      return new Response(body, { status: response.status, headers });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!axios.isAxiosError(error)) throw error;
      const message = error.message.startsWith('maxContentLength')
        ? `answer refused: larger than the ${MAX_ANSWER_BYTES}-byte limit`
        : error.message;
      throw Object.assign(new Error(message, { cause: error.cause }), { code: error.code });
    }
  };
}

export class OpenCtiApi {
  private readonly client: GraphQLClient;
  private readonly timeoutMs: number | undefined;
  private readonly deadlines: CallDeadlines;
  private readonly token: string;

  constructor(options: OpenCtiApiOptions) {
    this.timeoutMs = options.timeoutMs;
    this.deadlines = new CallDeadlines(options.stop);
    this.token = options.token;
    const base = options.url.replace(/\/+$/, '');
    if (!options.sslVerify && base.startsWith('https:')) {
      options.logger.warn('OpenCTI TLS certificate verification is disabled', {
        opencti_url: new URL(base).origin,
      });
    }
    this.client = new GraphQLClient(`${base}/graphql`, {
      headers: {
        Authorization: `Bearer ${options.token}`,
        'Content-Type': 'application/json',
        'User-Agent': options.userAgent ?? 'opencti-connector-threatstream',
      },
      fetch: fetchThroughAxios(
        new https.Agent({ keepAlive: true, rejectUnauthorized: options.sslVerify }),
      ),
      // Keeps graphql-request from wrapping errors[] in a ClientError, whose message embeds the
      // whole request (a pushed bundle can weigh megabytes).
      errorPolicy: 'all',
    });
  }

  /** Returns the platform version. */
  async healthCheck(): Promise<string> {
    const data = await this.send('HealthCheck', HEALTH_CHECK, {}, healthCheckData);
    return data.about.version;
  }

  /** The names of the input fields the platform's `RegisterConnectorInput` lists. */
  async registerConnectorInputFields(): Promise<Set<string>> {
    const data = await this.send(
      'RegisterConnectorInputFields',
      REGISTER_CONNECTOR_INPUT_FIELDS,
      {},
      inputFieldsData,
    );
    return new Set((data.__type?.inputFields ?? []).map((field) => field.name));
  }

  async registerConnector(input: RegisterInput): Promise<Registration> {
    // Same fields, same order, as pycti's to_input; listen_callback_uri is always sent, version
    // and slug only when given.
    const variables = {
      input: {
        id: input.id,
        name: input.name,
        type: input.type,
        scope: input.scope,
        auto: input.auto,
        auto_update: input.auto_update,
        enrichment_resolution: input.enrichment_resolution,
        only_contextual: input.only_contextual,
        playbook_compatible: input.playbook_compatible,
        listen_callback_uri: input.listen_callback_uri ?? null,
        ...(input.version !== undefined && { version: input.version }),
        ...(input.slug !== undefined && { slug: input.slug }),
      },
    };
    const data = await this.send('RegisterConnector', REGISTER_CONNECTOR, variables, registerData);
    const { id, connector_state, connector_user_id, config } = data.registerConnector;
    return { id, connectorState: connector_state, connectorUserId: connector_user_id, config };
  }

  /** `state` is sent as is: pycti sends `json.dumps(state)`, so "no state" is the string "null". */
  async pingConnector(
    id: string,
    state: string,
    info: ConnectorInfo,
  ): Promise<{ connectorState: string | null }> {
    const variables = { id, state, connectorInfo: info };
    const data = await this.send('PingConnector', PING_CONNECTOR, variables, pingData);
    return { connectorState: data.pingConnector.connector_state };
  }

  /** Messages and bytes waiting in the connector's queues (RabbitMQ `message_bytes`). */
  async queueDetails(
    connectorId: string,
  ): Promise<{ messagesNumber: number; messagesSize: number }> {
    const data = await this.send(
      'ConnectorQueueDetails',
      CONNECTOR_QUEUE_DETAILS,
      { id: connectorId },
      queueDetailsData,
    );
    const details = data.connector.connector_queue_details;
    return { messagesNumber: details.messages_number, messagesSize: details.messages_size };
  }

  /** Returns the new work id. */
  async workAdd(connectorId: string, friendlyName: string): Promise<string> {
    const variables = { connectorId, friendlyName };
    const data = await this.send('WorkAdd', WORK_ADD, variables, workAddData);
    return data.workAdd.id;
  }

  /** Additive on the platform: each call raises the expected count by `expectations`. */
  async workAddExpectations(workId: string, expectations: number): Promise<void> {
    const variables = { id: workId, expectations };
    await this.send('WorkAddExpectations', WORK_ADD_EXPECTATIONS, variables, addExpectationsData);
  }

  async workToProcessed(workId: string, message: string, inError: boolean): Promise<void> {
    const variables = { id: workId, message, inError };
    await this.send('WorkToProcessed', WORK_TO_PROCESSED, variables, toProcessedData);
  }

  /** The platform queues the whole bundle for its workers; with a null work id it opens a work. */
  async stixBundlePush(connectorId: string, bundle: string, workId: string | null): Promise<void> {
    const variables = { connectorId, bundle, work_id: workId };
    await this.send('StixBundlePush', STIX_BUNDLE_PUSH, variables, bundlePushData);
  }

  /** The ids among `ids` (at most 500) that OpenCTI holds, as a standard or other STIX id. */
  async indicatorsHeld(ids: readonly string[]): Promise<Set<string>> {
    const variables = {
      filters: {
        mode: 'and',
        filters: [{ key: ['ids'], values: ids, operator: 'eq', mode: 'or' }],
        filterGroups: [],
      },
      first: ids.length,
    };
    const data = await this.send('IndicatorsHeld', INDICATORS_HELD, variables, indicatorsHeldData);
    const asked = new Set(ids);
    const held = new Set<string>();
    for (const { node } of data.indicators.edges) {
      for (const id of [node.standard_id, ...(node.x_opencti_stix_ids ?? [])]) {
        if (asked.has(id)) held.add(id);
      }
    }
    return held;
  }

  private async send<T>(
    operation: OpenCtiOperation,
    query: string,
    variables: Variables,
    dataSchema: z.ZodType<T>,
  ): Promise<T> {
    const deadline = this.deadlines.forCall(this.timeoutMs ?? OPENCTI_TIMEOUTS_MS[operation]);
    let response;
    try {
      response = await this.client.rawRequest<unknown>({
        query,
        variables,
        signal: deadline.signal,
      });
    } catch (error) {
      throw this.requestError(operation, error, deadline);
    }
    if (response.errors !== undefined && response.errors.length > 0) {
      const errors = summarizeErrors(response.errors).map((e) => ({
        name: e.name,
        message: this.brief(e.message),
      }));
      throw new OpenCtiGraphQLError(operation, errors);
    }
    const parsed = dataSchema.safeParse(response.data);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new OpenCtiRequestError(operation, `unexpected answer: ${issues.join('; ')}`, {
        status: response.status,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  private requestError(
    operation: string,
    error: unknown,
    deadline: CallDeadline,
  ): OpenCtiRequestError {
    if (deadline.timeout.aborted) {
      return new OpenCtiRequestError(operation, `no answer within ${deadline.timeoutMs} ms`, {
        cause: deadline.timeout.reason,
      });
    }
    if (deadline.signal.aborted) {
      const message = `no answer within ${STOPPING_TIMEOUT_MS} ms of the stop`;
      return new OpenCtiRequestError(operation, message, { cause: deadline.signal.reason });
    }
    if (error instanceof ClientError) {
      // A status other than 200: the body may be a GraphQL answer (400) or a proxy's error page.
      const { status, errors, body } = error.response;
      const detail = errors?.length ? summarizeErrors(errors)[0] : undefined;
      const text = detail ? `${detail.name}: ${detail.message}` : body;
      return new OpenCtiRequestError(operation, this.brief(`HTTP ${status}: ${text}`), { status });
    }
    const message = error instanceof Error ? error.message : String(error);
    // graphql-request quotes an unparsable body in its message; a body echoing the token stays out.
    const carriesToken = this.token.length > 0 && inspect(error, { depth: 8 }).includes(this.token);
    return new OpenCtiRequestError(operation, this.brief(message), {
      cause: carriesToken ? undefined : error,
    });
  }

  /**
   * Text taken from an answer, made fit for a log line: a proxy's error page can be long, and one
   * echoing the request would otherwise put the token in our logs.
   */
  private brief(text: string): string {
    return redactThenTruncate(text, [this.token], ANSWER_SNIPPET_CHARS);
  }
}
