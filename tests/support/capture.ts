import { Writable } from 'node:stream';
import { createLogger, type LogLevel, type Logger } from '../../src/log';

export interface CapturedLogs {
  logger: Logger;
  /** Every line written so far, raw. */
  text(): string;
  /** Every line written so far, parsed. */
  entries(): Record<string, unknown>[];
}

/** A real logger whose JSON lines are kept in memory for assertions. */
export function captureLogs(options: { level?: LogLevel; secrets?: string[] } = {}): CapturedLogs {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({
    level: options.level ?? 'debug',
    secrets: options.secrets ?? [],
    stream,
  });
  const text = () => chunks.join('');
  return {
    logger,
    text,
    entries: () =>
      text()
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
