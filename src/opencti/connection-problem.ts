import { OpenCtiGraphQLError } from './api';

/** Why a call to OpenCTI failed, in one line, and whether waiting can fix it. */
export interface ConnectionProblem {
  summary: string;
  /** Only a change of OPENCTI_URL or of the TLS settings can fix it. */
  permanent: boolean;
}

const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;
/** What graphql-request says of a body that is not a GraphQL answer (an HTML page). */
const NOT_GRAPHQL = /Invalid execution result/;
const SERVER_BUSY = (status: number) => status === 408 || status === 429 || status >= 500;

function firstOf<T>(error: unknown, read: (e: Error) => T | undefined): T | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const value = read(e);
    if (value !== undefined) return value;
  }
  return undefined;
}

const codeOf = (error: unknown) =>
  firstOf(error, (e) => {
    const { code } = e as { code?: unknown };
    return typeof code === 'string' ? code : undefined;
  });

const statusOf = (error: unknown) =>
  firstOf(error, (e) => {
    const { status } = e as { status?: unknown };
    return typeof status === 'number' ? status : undefined;
  });

function notOpenCti(url: string, answer: string): ConnectionProblem {
  return {
    summary: `${url} answered ${answer}: not OpenCTI's GraphQL API; check OPENCTI_URL`,
    permanent: true,
  };
}

/** Classifies a failed call to the platform at `url`: name, connection, TLS, HTTP, or not OpenCTI. */
export function connectionProblem(error: unknown, url: string): ConnectionProblem {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof OpenCtiGraphQLError) return { summary: message, permanent: error.permanent };
  const code = codeOf(error);
  const { host } = new URL(url);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return {
      summary: `OpenCTI host ${host} not found (${code}); check OPENCTI_URL`,
      permanent: false,
    };
  }
  if (code === 'ECONNREFUSED') {
    const summary = `${host} refused the connection: OpenCTI not started yet, or a wrong port in OPENCTI_URL`;
    return { summary, permanent: false };
  }
  if (code !== undefined && TLS_ERROR.test(code)) {
    const summary = `OpenCTI's TLS certificate or handshake failed (${code}): install its CA, or check OPENCTI_URL and OPENCTI_SSL_VERIFY`;
    return { summary, permanent: true };
  }
  const status = statusOf(error);
  if (status === 200) return notOpenCti(url, 'HTTP 200 without the expected data');
  if (status !== undefined) {
    if (!SERVER_BUSY(status)) return notOpenCti(url, `HTTP ${status}`);
    return {
      summary: `OpenCTI answered HTTP ${status} (starting or overloaded)`,
      permanent: false,
    };
  }
  if (firstOf(error, (e) => (NOT_GRAPHQL.test(e.message) ? true : undefined))) {
    return notOpenCti(url, 'with a page that is not GraphQL');
  }
  return { summary: message, permanent: false };
}
