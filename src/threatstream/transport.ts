import https from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { z } from 'zod';
import { redactText, redactThenTruncate } from '../log';
import { parseRetryAfter } from '../retry';
import {
  ThreatStreamAuthError,
  ThreatStreamRequestError,
  type RequestErrorDetails,
} from './errors';
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

const CONFIGURATION_ERROR_CODES = new Set([
  'ERR_BAD_OPTION',
  'ERR_BAD_OPTION_VALUE',
  'ERR_INVALID_URL',
  'ERR_NOT_SUPPORT',
]);
const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;
const BODY_SNIPPET_CHARS = 200;

/**
 * One GET of a ThreatStream endpoint. Failures are thrown as ThreatStreamRequestError,
 * transient unless marked permanent, or ThreatStreamAuthError; retrying is the caller's business.
 */
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

  /** The cheapest request there is, to check the URL and the credentials. */
  async probe(signal: AbortSignal): Promise<void> {
    await this.send(new URLSearchParams({ limit: '1', order_by: 'update_id' }), signal);
  }

  async send(params: URLSearchParams, signal: AbortSignal): Promise<IntelligenceEnvelope> {
    const page = await this.get(INTELLIGENCE_PATH, params, intelligencePageSchema, signal);
    return { objects: page.objects, next: page.meta.next ?? null };
  }

  /** One GET of `path`, its JSON body validated by `schema`; a mismatch is transient, as a cut body. */
  async get<T extends z.ZodType>(
    path: string,
    params: URLSearchParams,
    schema: T,
    signal: AbortSignal,
  ): Promise<z.output<T>> {
    // axios's own `timeout` only bounds socket inactivity; a trickling server could exceed it.
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    let response: AxiosResponse<string>;
    try {
      response = await this.http.get<string>(path, {
        params,
        signal: AbortSignal.any([signal, deadline]),
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (deadline.aborted) throw transient(`no response within ${this.options.timeoutMs} ms`);
      throw this.classifyTransportError(error);
    }
    return this.readBody(this.classifyResponse(response), schema);
  }

  /** The body of a 200; any other answer is thrown as the failure it is. */
  private classifyResponse(response: AxiosResponse<string>): string {
    const { status } = response;
    if (status === 200) return response.data;
    if (status >= 300 && status < 400) {
      const location = this.safeText(String(response.headers['location'] ?? '(none)'));
      throw new ThreatStreamRequestError(
        `ThreatStream answered HTTP ${status} with a redirect to ${location}; redirects are not followed so that credentials stay on the configured host: check the ThreatStream base URL`,
        { status, permanent: true },
      );
    }
    if (status === 401 || status === 403) {
      throw new ThreatStreamAuthError(status);
    }
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfter = response.headers['retry-after'] as string | undefined;
      throw transient(`HTTP ${status}`, { status, retryAfterMs: parseRetryAfter(retryAfter) });
    }
    throw new ThreatStreamRequestError(
      `ThreatStream answered HTTP ${status}: ${redactThenTruncate(response.data, this.secrets, BODY_SNIPPET_CHARS)}`,
      { status, permanent: true },
    );
  }

  private readBody<T extends z.ZodType>(body: string, schema: T): z.output<T> {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      const reason = `the response body is not JSON (${body.length} characters; truncated or an error page)`;
      throw transient(reason, { status: 200, cause: this.detach(error) });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
        .join('; ');
      const summary = redactThenTruncate(issues, this.secrets, 300);
      throw transient(`the response is not what ThreatStream sends there (${summary})`, {
        status: 200,
      });
    }
    return parsed.data;
  }

  private classifyTransportError(error: unknown): Error {
    const cause = this.detach(error);
    const code = (cause as { code?: string }).code ?? '';
    if (axios.isAxiosError(error) && cause.message.startsWith('maxContentLength')) {
      return new ThreatStreamRequestError(
        `ThreatStream response refused: larger than the ${this.options.maxResponseBytes}-byte limit; lower the page size or raise the limit`,
        { cause, permanent: true },
      );
    }
    if (TLS_ERROR.test(code)) {
      return new ThreatStreamRequestError(
        `ThreatStream TLS certificate was not accepted (${code}); install the CA or, for a private deployment only, disable SSL verification`,
        { cause, permanent: true },
      );
    }
    if (!axios.isAxiosError(error) || CONFIGURATION_ERROR_CODES.has(code)) {
      return new ThreatStreamRequestError(
        `ThreatStream request could not be made: ${cause.message}`,
        { cause, permanent: true },
      );
    }
    return transient(`connection failed: ${cause.message}`, { cause });
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

function transient(reason: string, details: RequestErrorDetails = {}): ThreatStreamRequestError {
  return new ThreatStreamRequestError(reason, details);
}
