import https from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { redactText, redactThenTruncate } from '../log';
import { ThreatStreamAuthError, ThreatStreamRequestError } from './errors';
import { parseRetryAfter } from './retry';
import { intelligencePageSchema } from './schema';

const INTELLIGENCE_PATH = '/api/v2/intelligence/';

export interface TransportOptions {
  baseUrl: string;
  username: string;
  apiKey: string;
  sslVerify: boolean;
  timeoutMs: number;
  maxResponseBytes: number;
}

export interface IntelligenceEnvelope {
  objects: unknown[];
  /** Only tells whether more pages exist; never followed. */
  next: string | null;
}

export type RequestStatus = number | 'network_error';

/** What one HTTP attempt came to. Only an abort by the caller is thrown instead. */
export type AttemptOutcome =
  | { kind: 'page'; status: number; envelope: IntelligenceEnvelope }
  | {
      kind: 'retryable';
      status: RequestStatus;
      reason: string;
      retryAfterMs: number | undefined;
      cause: Error | undefined;
    }
  | { kind: 'fatal'; status: RequestStatus; error: Error };

const CONFIGURATION_ERROR_CODES = new Set([
  'ERR_BAD_OPTION',
  'ERR_BAD_OPTION_VALUE',
  'ERR_INVALID_URL',
  'ERR_NOT_SUPPORT',
]);
const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;
const BODY_SNIPPET_CHARS = 200;

/** One GET of the intelligence endpoint, classified. Retrying is the caller's business. */
export class ThreatStreamTransport {
  private readonly http: AxiosInstance;
  private readonly secrets: readonly string[];

  constructor(private readonly options: TransportOptions) {
    this.secrets = [options.apiKey, `${options.username}:${options.apiKey}`];
    this.http = axios.create({
      baseURL: options.baseUrl.replace(/\/+$/, ''),
      // Credentials must never travel to a host other than the configured one.
      allowAbsoluteUrls: false,
      maxRedirects: 0,
      maxContentLength: options.maxResponseBytes,
      maxBodyLength: options.maxResponseBytes,
      validateStatus: () => true,
      // Parsed by us, so that a proxy's HTML error page is recognised as not JSON.
      responseType: 'text',
      httpsAgent: new https.Agent({ keepAlive: true, rejectUnauthorized: options.sslVerify }),
      headers: {
        Accept: 'application/json',
        Authorization: `apikey ${options.username}:${options.apiKey}`,
      },
    });
  }

  /** `peek` sees the raw body of a 200 answer before it is parsed, and is awaited. */
  async send(
    params: URLSearchParams,
    signal: AbortSignal | undefined,
    peek?: (body: string) => Promise<void>,
  ): Promise<AttemptOutcome> {
    // axios's own `timeout` only bounds socket inactivity; a trickling server could exceed it.
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
    let response: AxiosResponse<string>;
    try {
      response = await this.http.get<string>(INTELLIGENCE_PATH, { params, signal: combined });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (deadline.aborted) {
        return retryable('network_error', `no response within ${this.options.timeoutMs} ms`);
      }
      return this.classifyTransportError(error);
    }
    if (response.status === 200 && peek !== undefined) await peek(response.data);
    return this.classifyResponse(response);
  }

  private classifyResponse(response: AxiosResponse<string>): AttemptOutcome {
    const { status } = response;
    if (status === 200) return this.readEnvelope(response.data);
    if (status >= 300 && status < 400) {
      const location = this.safeText(String(response.headers['location'] ?? '(none)'));
      const error = new ThreatStreamRequestError(
        `ThreatStream answered HTTP ${status} with a redirect to ${location}; redirects are not followed so that credentials stay on the configured host: check the ThreatStream base URL`,
        { status },
      );
      return { kind: 'fatal', status, error };
    }
    if (status === 401 || status === 403) {
      return { kind: 'fatal', status, error: new ThreatStreamAuthError(status) };
    }
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfter = response.headers['retry-after'] as string | undefined;
      return retryable(status, `HTTP ${status}`, undefined, parseRetryAfter(retryAfter));
    }
    const error = new ThreatStreamRequestError(
      `ThreatStream answered HTTP ${status}: ${redactThenTruncate(response.data, this.secrets, BODY_SNIPPET_CHARS)}`,
      { status },
    );
    return { kind: 'fatal', status, error };
  }

  private readEnvelope(body: string): AttemptOutcome {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      const reason = `the response body is not JSON (${body.length} characters; truncated or an error page)`;
      return retryable(200, reason, this.detach(error));
    }
    const parsed = intelligencePageSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
        .join('; ');
      const summary = redactThenTruncate(issues, this.secrets, 300);
      return retryable(200, `the response is not an intelligence page (${summary})`);
    }
    const next = parsed.data.meta.next ?? null;
    return { kind: 'page', status: 200, envelope: { objects: parsed.data.objects, next } };
  }

  private classifyTransportError(error: unknown): AttemptOutcome {
    const cause = this.detach(error);
    const code = (cause as { code?: string }).code ?? '';
    if (axios.isAxiosError(error) && cause.message.startsWith('maxContentLength')) {
      const refused = new ThreatStreamRequestError(
        `ThreatStream response refused: larger than the ${this.options.maxResponseBytes}-byte limit; lower the page size or raise the limit`,
        { cause },
      );
      return { kind: 'fatal', status: 'network_error', error: refused };
    }
    if (TLS_ERROR.test(code)) {
      const refused = new ThreatStreamRequestError(
        `ThreatStream TLS certificate was not accepted (${code}); install the CA or, for a private deployment only, disable SSL verification`,
        { cause },
      );
      return { kind: 'fatal', status: 'network_error', error: refused };
    }
    if (!axios.isAxiosError(error) || CONFIGURATION_ERROR_CODES.has(code)) {
      const failed = new ThreatStreamRequestError(
        `ThreatStream request could not be made: ${cause.message}`,
        { cause },
      );
      return { kind: 'fatal', status: 'network_error', error: failed };
    }
    return retryable('network_error', `connection failed: ${cause.message}`, cause);
  }

  /**
   * A copy of an error with only its name, message and code: axios errors carry the request
   * config, whose headers hold the credentials.
   */
  private detach(error: unknown): Error {
    const source = error instanceof Error ? error : new Error(String(error));
    const detached = new Error(this.safeText(source.message));
    detached.name = source.name;
    const { code } = source as { code?: unknown };
    if (typeof code === 'string') Object.assign(detached, { code });
    return detached;
  }

  /** Server-supplied or library text, with the credentials removed in case anything echoes them. */
  private safeText(text: string): string {
    return redactText(text, this.secrets);
  }
}

function retryable(
  status: RequestStatus,
  reason: string,
  cause?: Error,
  retryAfterMs?: number,
): AttemptOutcome {
  return { kind: 'retryable', status, reason, retryAfterMs, cause };
}
