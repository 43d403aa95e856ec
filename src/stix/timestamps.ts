/**
 * ThreatStream timestamps in, STIX timestamps out. STIX wants RFC 3339 in UTC with a four-digit
 * year, so only instants from year 0000 to year 9999 can be sent.
 */

export const EARLIEST_TIMESTAMP = Date.parse('0000-01-01T00:00:00.000Z');
export const LATEST_TIMESTAMP = Date.parse('9999-12-31T23:59:59.999Z');

/** A date, optionally followed by a time (with a fraction) and `Z` or a `±hh:mm` offset. */
const ISO_TIMESTAMP =
  /^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})(?:[T ](?<hour>\d{2}):(?<minute>\d{2})(?::(?<second>\d{2})(?:[.,](?<fraction>\d{1,9}))?)?(?<offset>Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

type TimestampParts = Partial<Record<string, string>>;

/** An instant and its STIX text: RFC 3339 in UTC with milliseconds. */
export interface Timestamp {
  millis: number;
  text: string;
}

/**
 * The shape ThreatStream writes, which is already STIX's: such a text is its own STIX form, so
 * nothing is formatted. Date.parse reads it natively; the day is checked after it.
 */
const CANONICAL_TIMESTAMP =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/**
 * An ISO 8601 timestamp read as an instant and its STIX text, or undefined when the text is not
 * one, names a date or time that does not exist, or falls outside what STIX can hold. A time
 * without an offset is UTC, which is what ThreatStream means. Digits past the millisecond are
 * dropped.
 */
export function readTimestamp(text: string | null | undefined): Timestamp | undefined {
  if (text === null || text === undefined) return undefined;
  if (CANONICAL_TIMESTAMP.test(text)) {
    const millis = Date.parse(text);
    // Date.parse rolls a day past the end of its month (February 30) into the next one.
    return new Date(millis).getUTCDate() === Number(text.slice(8, 10))
      ? { millis, text }
      : undefined;
  }
  const millis = parseGeneralTimestamp(text);
  return millis === undefined ? undefined : { millis, text: stixTimestamp(millis) };
}

/** The STIX text of an ISO 8601 timestamp, as `readTimestamp` reads it. */
export function stixTimestampOf(text: string | null | undefined): string | undefined {
  return readTimestamp(text)?.text;
}

/** The instant of an ISO 8601 timestamp, as `readTimestamp` reads it. */
export function parseTimestamp(text: string | null | undefined): number | undefined {
  return readTimestamp(text)?.millis;
}

/** The Timestamp of an instant from EARLIEST_TIMESTAMP to LATEST_TIMESTAMP. */
export function timestampAt(millis: number): Timestamp {
  return { millis, text: stixTimestamp(millis) };
}

function parseGeneralTimestamp(text: string): number | undefined {
  const parts = ISO_TIMESTAMP.exec(text.trim())?.groups;
  if (parts === undefined) return undefined;
  const local = utcMillisOf(parts);
  const offsetMinutes = offsetMinutesOf(parts.offset);
  if (local === undefined || offsetMinutes === undefined) return undefined;
  const instant = local - offsetMinutes * 60_000;
  return instant >= EARLIEST_TIMESTAMP && instant <= LATEST_TIMESTAMP ? instant : undefined;
}

/**
 * RFC 3339 in UTC with milliseconds, e.g. `2021-05-24T16:42:25.457Z`, for instants from
 * EARLIEST_TIMESTAMP to LATEST_TIMESTAMP. Outside them the year gets a sign and six digits,
 * which STIX refuses, so callers check the range first.
 */
export function stixTimestamp(millis: number): string {
  return new Date(millis).toISOString();
}

function utcMillisOf(parts: TimestampParts): number | undefined {
  const field = (name: string): number => Number(parts[name] ?? 0);
  const [year, month, day] = [field('year'), field('month'), field('day')];
  const [hour, minute, second] = [field('hour'), field('minute'), field('second')];
  // Rules out 24:00 and leap seconds, which Date would roll over into the next minute or day.
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  // Unlike Date.UTC, setUTCFullYear does not read years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number((parts.fraction ?? '').slice(0, 3).padEnd(3, '0')));
  // A day past the end of its month (February 30) rolls over too.
  const exists = date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return exists ? date.getTime() : undefined;
}

function offsetMinutesOf(offset: string | undefined): number | undefined {
  if (offset === undefined || offset.toUpperCase() === 'Z') return 0;
  const digits = offset.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) return undefined;
  return (offset.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}
