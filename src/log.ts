import type { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import winston from 'winston';

export type Logger = winston.Logger;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  level: LogLevel;
  /**
   * Values that must never reach the output (API keys, tokens, passwords). Read at every line,
   * so a secret learnt later (the broker password OpenCTI hands out) can still be added.
   */
  secrets: readonly string[];
  /** Where JSON lines go; stdout by default. Tests pass a capturing stream. */
  stream?: Writable;
  silent?: boolean;
}

export const REDACTED = '[REDACTED]';

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  status?: number;
  stack?: string;
  cause?: SerializedError;
}

/**
 * Turns an error and its `cause` chain into plain JSON. Only a fixed set of fields is kept:
 * HTTP client errors carry request configs with credentials, which must never be logged.
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    return { name: 'NonError', message: String(error) };
  }
  const out: SerializedError = { name: error.name, message: error.message };
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (typeof code === 'string') out.code = code;
  if (typeof status === 'number') out.status = status;
  if (error.stack !== undefined) out.stack = error.stack;
  if (error.cause !== undefined && depth < 5) out.cause = serializeError(error.cause, depth + 1);
  return out;
}

/** Replaces every occurrence of each secret in a string. Short secrets are ignored: redacting "a" would mangle every line. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * Upstream text (an error page, a message echoing the request) made fit for a log line, an error
 * or a work message: secrets are redacted first and only then is the text cut to `maxChars`, so a
 * secret straddling the cut can never leave a fragment behind.
 */
export function redactThenTruncate(
  text: string,
  secrets: readonly string[],
  maxChars: number,
): string {
  const redacted = redactText(text, secrets);
  return redacted.length > maxChars ? `${redacted.slice(0, maxChars)}…` : redacted;
}

function redactValue(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return redactText(value, secrets);
  if (value instanceof Error) return redactValue(serializeError(value), secrets, depth);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, secrets, depth + 1);
  return out;
}

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export function createLogger(options: LoggerOptions): Logger {
  const redact = winston.format((info) => {
    for (const key of Object.keys(info)) {
      info[key] = redactValue(info[key], options.secrets, 0);
    }
    return info;
  });
  const stream = options.stream ?? process.stdout;
  return winston.createLogger({
    levels: LEVELS,
    level: options.level,
    silent: options.silent ?? false,
    format: winston.format.combine(winston.format.timestamp(), redact(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** A logger that writes nowhere, for tests that do not inspect logs. */
export function silentLogger(): Logger {
  return createLogger({ level: 'error', secrets: [], silent: true });
}

/**
 * Resolves once every line written so far has left for the reader, or after `timeoutMs` if the
 * reader is stuck. The logger hands each line to the stream at once, but a pipe read slowly
 * keeps a backlog in the process, and `process.exit` drops it.
 */
export async function logsFlushed(stream: Writable, timeoutMs: number): Promise<void> {
  // Writes leave in order: the callback of an empty write runs once those before it are out.
  const flushed = new Promise<void>((resolve) => stream.write('', () => resolve()));
  await Promise.race([flushed, delay(timeoutMs, undefined, { ref: false })]);
}
