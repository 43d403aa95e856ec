import type { IntelligenceRecord } from '../threatstream/schema';
import { indicatorId } from './ids';
import { TLP_MARKING_IDS, parseTlp, type Tlp } from './markings';
import { observableOf, quoted, type ObservableResult, type UiKind } from './pattern';
import type { Skip } from './skip';
import { LATEST_TIMESTAMP, readTimestamp, timestampAt, type Timestamp } from './timestamps';
import type { Identity, Indicator, IndicatorType } from './types';

export interface ConvertOptions {
  author: Identity;
  /** Marking for records whose own `tlp` is absent or unreadable. */
  defaultTlp: Tlp;
  /** Asks the platform to create the observable and its `based-on` link from the pattern. */
  createObservables: boolean;
  /** ThreatStream UI base URL, for the link back to the record. */
  uiUrl: string;
  /** `decay` leaves an active indicator's lifetime to the platform's decay rules; default `expiration`. */
  validUntil?: 'expiration' | 'decay';
}

export type ConvertResult =
  | {
      ok: true;
      indicator: Indicator;
      revoked: boolean;
      /** A description or labels over their bounds were cut. */
      truncated: boolean;
    }
  | Skip;

/** Bounds on what one record may put in its indicator, so that no record weighs a message down. */
export const MAX_DESCRIPTION_LENGTH = 10_000;
export const MAX_LABELS = 100;
export const MAX_LABEL_LENGTH = 256;
const TRUNCATED = ' […]';

const EXTERNAL_SOURCE_NAME = 'Anomali ThreatStream';

/** Score when a record has neither a usable confidence nor a known severity; also the platform's default. */
const DEFAULT_SCORE = 50;

/** A Map, not an object: a severity such as "constructor" must not find anything. */
const SCORE_BY_SEVERITY: ReadonlyMap<string, number> = new Map([
  ['low', 25],
  ['medium', 50],
  ['high', 75],
  ['very-high', 100],
]);

/**
 * ThreatStream writes "never expires" as a far-future date (9999-12-31, 2318-07-09, ...). Any
 * expiry from this year on is read as none, and the platform's decay rules decide instead.
 */
const NEVER_EXPIRES_FROM = Date.UTC(2100, 0, 1);

/** OpenCTI refuses an indicator whose validity window is empty; a revoked one gets at least this much. */
const MIN_REVOKED_VALIDITY_MS = 1000;

export function convertRecord(record: IntelligenceRecord, options: ConvertOptions): ConvertResult {
  const observable = observableOf(record);
  if (!observable.ok) return observable;

  const status = record.status.trim().toLowerCase();
  const revoked = status === 'inactive' || status === 'falsepos';
  if (!revoked && status !== 'active') {
    return {
      ok: false,
      reason: 'unsupported_status',
      detail: `status ${quoted(record.status)} is not active, inactive or falsepos`,
    };
  }
  const validity = validityOf(record, revoked, options);
  if (!validity.ok) return validity;
  const description = descriptionOf(record);
  const labels = labelsOf(record);
  const indicator = indicatorOf(record, observable, validity, options, {
    description: description.text,
    labels: labels.labels,
  });
  return { ok: true, indicator, revoked, truncated: description.truncated || labels.truncated };
}

type Observable = Extract<ObservableResult, { ok: true }>;

/** A record's dates, all within years 0000-9999, and whether it is revoked. */
interface Validity {
  ok: true;
  created: Timestamp;
  modified: Timestamp;
  validUntil: Timestamp | undefined;
  revoked: boolean;
}

function validityOf(
  record: IntelligenceRecord,
  revoked: boolean,
  options: ConvertOptions,
): Validity | Skip {
  const created = readTimestamp(record.created_ts);
  if (created === undefined) return invalidTimestamp('created_ts', record.created_ts);
  const reportedModified = readTimestamp(record.modified_ts);
  if (reportedModified === undefined) return invalidTimestamp('modified_ts', record.modified_ts);
  const modified = later(created, reportedModified);

  // OpenCTI treats an indicator as revoked once its valid_until has passed, whatever `revoked`
  // says, so a revoked record's validity ends when ThreatStream last changed it.
  const validUntil = revoked
    ? revokedUntil(created, modified)
    : options.validUntil === 'decay'
      ? undefined
      : expiryOf(record, created);
  // Reachable only by a revoked record created in the last second of year 9999.
  if (validUntil === null) return invalidTimestamp('created_ts', record.created_ts);
  return { ok: true, created, modified, validUntil, revoked };
}

const later = (a: Timestamp, b: Timestamp): Timestamp => (b.millis > a.millis ? b : a);

/** When a revoked indicator's validity ends; null when that is past year 9999. */
function revokedUntil(created: Timestamp, modified: Timestamp): Timestamp | null {
  const earliest = created.millis + MIN_REVOKED_VALIDITY_MS;
  if (modified.millis >= earliest) return modified;
  return earliest > LATEST_TIMESTAMP ? null : timestampAt(earliest);
}

/** The indicator's properties in STIX order; optional ones only when present. */
function indicatorOf(
  record: IntelligenceRecord,
  observable: Observable,
  { created, modified, validUntil, revoked }: Validity,
  options: ConvertOptions,
  { description, labels }: { description: string | undefined; labels: string[] },
): Indicator {
  const tlp = parseTlp(record.tlp) ?? options.defaultTlp;
  const validFrom = created.text;
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: indicatorId(observable.pattern),
    created: validFrom,
    modified: modified.text,
    created_by_ref: options.author.id,
    name: observable.value,
    ...(description !== undefined && { description }),
    indicator_types: indicatorTypesOf(record),
    pattern: observable.pattern,
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: validFrom,
    ...(validUntil !== undefined && { valid_until: validUntil.text }),
    revoked,
    ...(labels.length > 0 && { labels }),
    external_references: [
      {
        source_name: EXTERNAL_SOURCE_NAME,
        external_id: record.id,
        url: detailPageUrl(options.uiUrl, observable.uiKind, observable.value),
      },
    ],
    object_marking_refs: [TLP_MARKING_IDS[tlp]],
    x_opencti_score: scoreOf(record),
    x_opencti_detection: !revoked,
    x_opencti_main_observable_type: observable.mainObservableType,
    x_opencti_create_observables: options.createObservables,
  };
}

/** The record's page in the ThreatStream UI. */
function detailPageUrl(uiUrl: string, uiKind: UiKind, value: string): string {
  return `${uiUrl.replace(/\/+$/, '')}/detail/${uiKind}/${encodeURIComponent(value)}`;
}

function invalidTimestamp(field: string, text: string): Skip {
  return {
    ok: false,
    reason: 'invalid_timestamp',
    detail: `${field} ${quoted(text)} is not an ISO 8601 timestamp within years 0000-9999`,
  };
}

/** ThreatStream's expiry, when it is a real one: unreadable, past-created and sentinel dates mean none. */
function expiryOf(record: IntelligenceRecord, validFrom: Timestamp): Timestamp | undefined {
  const expiry = readTimestamp(record.expiration_ts);
  if (expiry === undefined || expiry.millis <= validFrom.millis) return undefined;
  return expiry.millis >= NEVER_EXPIRES_FROM ? undefined : expiry;
}

/** ThreatStream's own confidence when it scored the record (-1 means it did not), else its severity. */
function scoreOf(record: IntelligenceRecord): number {
  const { confidence } = record;
  if (
    typeof confidence === 'number' &&
    Number.isInteger(confidence) &&
    confidence >= 0 &&
    confidence <= 100
  ) {
    return confidence;
  }
  const severity = record.meta?.severity?.trim().toLowerCase();
  return (severity === undefined ? undefined : SCORE_BY_SEVERITY.get(severity)) ?? DEFAULT_SCORE;
}

function descriptionOf(record: IntelligenceRecord): { text?: string; truncated: boolean } {
  const lines = [
    record.description?.trim(),
    prefixed('Detail', record.meta?.detail),
    prefixed('Source', record.source),
  ].filter((line): line is string => line !== undefined && line !== '');
  if (lines.length === 0) return { truncated: false };
  const text = lines.join('\n');
  return {
    text: bounded(text, MAX_DESCRIPTION_LENGTH),
    truncated: text.length > MAX_DESCRIPTION_LENGTH,
  };
}

/** The text cut to `max` characters, marker included, when longer. */
function bounded(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - TRUNCATED.length) + TRUNCATED;
}

function prefixed(label: string, text: string | null | undefined): string | undefined {
  const trimmed = text?.trim();
  return trimmed ? `${label}: ${trimmed}` : undefined;
}

/**
 * Tag names, then the itype; trimmed, blanks dropped, first spelling kept among case variants;
 * at most MAX_LABELS of at most MAX_LABEL_LENGTH characters. Tags past the bound are not read.
 */
function labelsOf(record: IntelligenceRecord): { labels: string[]; truncated: boolean } {
  const labelByKey = new Map<string, string>();
  let truncated = false;
  const add = (candidate: string | null | undefined) => {
    const label = candidate?.trim();
    if (!label || labelByKey.size >= MAX_LABELS) return;
    truncated ||= label.length > MAX_LABEL_LENGTH;
    const kept = bounded(label, MAX_LABEL_LENGTH);
    if (!labelByKey.has(kept.toLowerCase())) labelByKey.set(kept.toLowerCase(), kept);
  };
  const tags = record.tags ?? [];
  let read = 0;
  for (; read < tags.length && labelByKey.size < MAX_LABELS; read++) add(tags[read]?.name);
  add(record.itype);
  return { labels: [...labelByKey.values()], truncated: truncated || read < tags.length };
}

/**
 * ThreatStream categories (the itype's leading words, or the whole threat_type) in the STIX
 * indicator-type vocabulary. An itype matches a category when it equals it or starts with it
 * followed by `_`; the longest category wins, so `ransomware_victim_domain` is a victim, not
 * ransomware. Categories not listed (geolocation, vps, free_email, gaming, ...) say nothing about
 * intent and fall through to `unknown`.
 */
const INDICATOR_TYPE_BY_CATEGORY: ReadonlyMap<string, IndicatorType> = new Map(
  Object.entries({
    // Malware, its infrastructure, and hostile activity.
    adware: 'malicious-activity',
    bot: 'malicious-activity',
    botnet: 'malicious-activity',
    brute: 'malicious-activity',
    c2: 'malicious-activity',
    cobalt_strike: 'malicious-activity',
    crypto: 'malicious-activity',
    ddos: 'malicious-activity',
    downloader: 'malicious-activity',
    exfil: 'malicious-activity',
    exploit: 'malicious-activity',
    fraud: 'malicious-activity',
    hack_tool: 'malicious-activity',
    infostealer: 'malicious-activity',
    iot: 'malicious-activity',
    mal: 'malicious-activity',
    malware: 'malicious-activity',
    mobile_malware: 'malicious-activity',
    p2pcnc: 'malicious-activity',
    phish: 'malicious-activity',
    pos: 'malicious-activity',
    ransomware: 'malicious-activity',
    rootkit: 'malicious-activity',
    scan: 'malicious-activity',
    spam: 'malicious-activity',
    ssh: 'malicious-activity',
    trojan: 'malicious-activity',
    web3_malicious: 'malicious-activity',
    web3_phishing: 'malicious-activity',
    // Infrastructure that hides who is behind it.
    anon: 'anonymization',
    anonymization: 'anonymization',
    comm_proxy: 'anonymization',
    corp_vpn: 'anonymization',
    i2p: 'anonymization',
    proxy: 'anonymization',
    tor: 'anonymization',
    vpn: 'anonymization',
    // Victims rather than attackers.
    compromised: 'compromised',
    phish_victim: 'compromised',
    ransomware_victim: 'compromised',
    web3_compromised: 'compromised',
    benign: 'benign',
    // Tied to a named actor or campaign.
    actor: 'attribution',
    apt: 'attribution',
    threat_actor: 'attribution',
    // Worth a look, not proof of malice.
    disposable_email: 'anomalous-activity',
    dyn_dns: 'anomalous-activity',
    new_domain: 'anomalous-activity',
    parked: 'anomalous-activity',
    sinkhole: 'anomalous-activity',
    sus: 'anomalous-activity',
    suspected: 'anomalous-activity',
    suspicious: 'anomalous-activity',
    web3_suspicious: 'anomalous-activity',
    whois_bulk_reg: 'anomalous-activity',
    whois_privacy: 'anomalous-activity',
  } satisfies Record<string, IndicatorType>),
);

/** The indicator types the itype and the threat_type point to, in that order; `unknown` if neither does. */
function indicatorTypesOf(record: IntelligenceRecord): IndicatorType[] {
  const fromItype = indicatorTypeOf(record.itype?.trim().toLowerCase() ?? '');
  const fromThreatType = indicatorTypeOf(record.threat_type?.trim().toLowerCase() ?? '');
  if (fromItype === undefined) return [fromThreatType ?? 'unknown'];
  return fromThreatType === undefined || fromThreatType === fromItype
    ? [fromItype]
    : [fromItype, fromThreatType];
}

function indicatorTypeOf(text: string): IndicatorType | undefined {
  // The text, then each prefix ending before an `_`, longest first.
  for (let end = text.length; end >= 0; end = text.lastIndexOf('_', end - 1)) {
    const indicatorType = INDICATOR_TYPE_BY_CATEGORY.get(text.slice(0, end));
    if (indicatorType !== undefined) return indicatorType;
    if (end === 0) break;
  }
  return undefined;
}
