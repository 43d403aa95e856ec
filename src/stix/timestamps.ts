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

/**
 * Milliseconds since the epoch of an ISO 8601 timestamp, or undefined when the text is not one,
 * names a date or time that does not exist, or falls outside what STIX can hold. A time without
 * an offset is UTC, which is what ThreatStream means. Digits past the millisecond are dropped.
 */
export function parseTimestamp(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined) return undefined;
  const canonical = canonicalMillis(text);
  if (canonical !== null) return canonical;
  const parts = ISO_TIMESTAMP.exec(text.trim())?.groups;
  if (parts === undefined) return undefined;
  const local = utcMillisOf(parts);
  const offsetMinutes = offsetMinutesOf(parts.offset);
  if (local === undefined || offsetMinutes === undefined) return undefined;
  const instant = local - offsetMinutes * 60_000;
  return instant >= EARLIEST_TIMESTAMP && instant <= LATEST_TIMESTAMP ? instant : undefined;
}

/** RFC 3339 in UTC with milliseconds, e.g. `2021-05-24T16:42:25.457Z`. */
export function stixTimestamp(millis: number): string {
  // Date.prototype.toISOString is slow enough to show in a profile; this is its output for years
  // 0000-9999, the only ones STIX can hold. Anything else is left to it.
  if (!Number.isInteger(millis) || millis < EARLIEST_TIMESTAMP || millis > LATEST_TIMESTAMP) {
    return new Date(millis).toISOString();
  }
  const days = Math.floor(millis / DAY_MS);
  const msOfDay = millis - days * DAY_MS;
  return (
    datePrefix(days) +
    TWO_DIGITS[Math.floor(msOfDay / 3_600_000)]! +
    ':' +
    TWO_DIGITS[Math.floor(msOfDay / 60_000) % 60]! +
    ':' +
    TWO_DIGITS[Math.floor(msOfDay / 1000) % 60]! +
    '.' +
    THREE_DIGITS[msOfDay % 1000]! +
    'Z'
  );
}

const DAY_MS = 86_400_000;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
/** Zero-padded numbers made once: a timestamp is then joined from ready-made pieces. */
const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => pad(n, 2));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => pad(n, 3));

/** `YYYY-MM-DDT` of the last day asked for: the records of a page mostly share their day. */
let lastDay: { days: number; prefix: string } | undefined;
function datePrefix(days: number): string {
  if (lastDay?.days !== days) {
    const { year, month, day } = civilDate(days);
    lastDay = { days, prefix: `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T` };
  }
  return lastDay.prefix;
}

/**
 * Proleptic Gregorian year, month and day of a day count since 1970-01-01 (Howard Hinnant's
 * civil_from_days: eras of 400 years, each starting on 1 March).
 */
function civilDate(daysSinceEpoch: number): { year: number; month: number; day: number } {
  const z = daysSinceEpoch + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The value of `length` decimal digits at `start`, or -1 if any of them is not a digit. */
function digitsAt(text: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * The shape ThreatStream (and STIX) write, `YYYY-MM-DDTHH:MM:SS.sssZ`, read without a regular
 * expression or a Date: milliseconds, undefined when it names a time that does not exist, null
 * when the text has another shape (the general reader then decides). Years 0000-0099 go to the
 * general reader too, which already handles them.
 */
function canonicalMillis(text: string): number | undefined | null {
  if (
    text.length !== 24 ||
    text[4] !== '-' ||
    text[7] !== '-' ||
    text[10] !== 'T' ||
    text[13] !== ':' ||
    text[16] !== ':' ||
    text[19] !== '.' ||
    text[23] !== 'Z'
  ) {
    return null;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const millis = digitsAt(text, 20, 3);
  if (Math.min(year, month, day, hour, minute, second, millis) < 0 || year < 100) return null;
  if (hour > 23 || minute > 59 || second > 59 || month < 1 || month > 12 || day < 1) {
    return undefined;
  }
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (day > monthDays) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis);
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
