import { isIPv4, isIPv6 } from 'node:net';
import type { IntelligenceRecord } from '../threatstream/schema';
import type { Skip } from './skip';
import type { MainObservableType } from './types';

/** The path segment of a ThreatStream UI detail page: `<ui>/detail/<kind>/<value>`. */
export type UiKind = 'ip' | 'domain' | 'url' | 'email' | 'hash' | 'string';

export type ObservableResult =
  | {
      ok: true;
      /** Canonical STIX pattern; its exact text determines the indicator id. */
      pattern: string;
      mainObservableType: MainObservableType;
      /** The value as it appears in the pattern, before escaping. */
      value: string;
      uiKind: UiKind;
    }
  | Skip;

/** Longer values are not indicators worth importing, and they bloat every message that carries them. */
export const MAX_VALUE_LENGTH = 8192;

/** A record field as shown in a skip detail: JSON-quoted so control characters stay visible, and short. */
export function quoted(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/** STIX patterning allows exactly two escapes inside a quoted string: `\\` and `\'`. */
export function escapePatternValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll("'", "\\'");
}

/**
 * The STIX pattern for a ThreatStream record, or why the record cannot become one. Values the
 * OpenCTI platform would refuse as observables are refused here too, so that an indicator never
 * points at an observable the platform cannot create.
 */
export function observableOf(record: IntelligenceRecord): ObservableResult {
  const kind = kindOf(record);
  if ('unsupported' in kind) {
    return { ok: false, reason: 'unsupported_type', detail: kind.unsupported };
  }
  const value = record.value.trim();
  const reading = generalProblem(value) ?? kind.read(value);
  if ('problem' in reading) {
    return { ok: false, reason: 'invalid_value', detail: reading.problem };
  }
  return {
    ok: true,
    pattern: `[${reading.path} = '${escapePatternValue(reading.value)}']`,
    mainObservableType: reading.mainObservableType,
    value: reading.value,
    uiKind: kind.uiKind,
  };
}

interface Observable {
  /** Object path of the comparison, e.g. `file:hashes.'SHA-256'`. */
  path: string;
  mainObservableType: MainObservableType;
  value: string;
}

interface Problem {
  problem: string;
}

/** What a record's type and itype make of its (trimmed) value. */
interface Kind {
  uiKind: UiKind;
  read: (value: string) => Observable | Problem;
}

interface Unsupported {
  unsupported: string;
}

function kindOf(record: IntelligenceRecord): Kind | Unsupported {
  const itype = record.itype?.trim().toLowerCase() ?? '';
  switch (record.type.trim().toLowerCase()) {
    case 'ip':
      return {
        uiKind: 'ip',
        read: (value) => (value.includes(':') ? readIpv6(value) : readIpv4(value)),
      };
    case 'ipv6':
      return { uiKind: 'ip', read: readIpv6 };
    case 'domain':
      return { uiKind: 'domain', read: readDomain };
    case 'url':
      // URLs are matched byte for byte by detection tools, so they are never normalised.
      return {
        uiKind: 'url',
        read: (value) => ({ path: 'url:value', mainObservableType: 'Url', value }),
      };
    case 'email':
      return { uiKind: 'email', read: readEmail };
    case 'md5':
      return hashKind(itype, record.subtype);
    case 'string':
      return stringKind(itype);
    default:
      return { unsupported: `type ${quoted(record.type)} has no STIX observable` };
  }
}

/** A value of any type must pass these before its type-specific rules. */
function generalProblem(value: string): Problem | undefined {
  if (value === '') return { problem: 'value is empty' };
  if (value.length > MAX_VALUE_LENGTH) {
    return {
      problem: `value is ${value.length} characters long, over the ${MAX_VALUE_LENGTH} limit`,
    };
  }
  for (const character of value) {
    const code = character.codePointAt(0) ?? 0;
    if (code <= 0x1f || code === 0x7f) {
      return { problem: `value contains control character U+${hex4(code)}` };
    }
    // A lone surrogate has no UTF-8 encoding: the value would change on the wire, and its id with it.
    if (code >= 0xd800 && code <= 0xdfff) {
      return { problem: `value contains unpaired surrogate U+${hex4(code)}` };
    }
  }
  return undefined;
}

function hex4(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, '0');
}

function readIpv4(value: string): Observable | Problem {
  const { address, prefix } = splitPrefix(value);
  if (!isIPv4(address) || !isPrefixLength(prefix, 32)) {
    return { problem: 'not an IPv4 address or CIDR block' };
  }
  return { path: 'ipv4-addr:value', mainObservableType: 'IPv4-Addr', value };
}

/** Lower-cased: IPv6 hex digits are case-insensitive, and one spelling means one indicator id. */
function readIpv6(value: string): Observable | Problem {
  const normalised = value.toLowerCase();
  const { address, prefix } = splitPrefix(normalised);
  if (!isIPv6(address) || !isPrefixLength(prefix, 128)) {
    return { problem: 'not an IPv6 address or CIDR block' };
  }
  if (address.includes('%')) return { problem: 'IPv6 address carries a zone index' };
  // The platform accepts a trailing dotted IPv4 part only in the compressed (`::`) forms.
  if (address.includes('.') && !address.includes('::')) {
    return { problem: 'IPv6 address with an embedded IPv4 part must use "::"' };
  }
  return { path: 'ipv6-addr:value', mainObservableType: 'IPv6-Addr', value: normalised };
}

function splitPrefix(value: string): { address: string; prefix: string | undefined } {
  const slash = value.indexOf('/');
  if (slash === -1) return { address: value, prefix: undefined };
  return { address: value.slice(0, slash), prefix: value.slice(slash + 1) };
}

function isPrefixLength(prefix: string | undefined, max: number): boolean {
  return prefix === undefined || (/^(0|[1-9]\d{0,2})$/.test(prefix) && Number(prefix) <= max);
}

const MAX_DOMAIN_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/**
 * The platform's domain rule: at most 253 characters, at least two dot-separated labels of 1 to
 * 63 characters without whitespace, a top-level label of at least two, no leading hyphen.
 * Internationalised names pass as they are. Slashes are refused as well: they mark a URL.
 */
function readDomain(value: string): Observable | Problem {
  const domain = value.toLowerCase();
  if (domain.length > MAX_DOMAIN_LENGTH) {
    return { problem: `domain is longer than ${MAX_DOMAIN_LENGTH} characters` };
  }
  if (/[\s/\\]/.test(domain)) return { problem: 'domain contains whitespace or a slash' };
  if (domain.startsWith('-')) return { problem: 'domain starts with a hyphen' };
  const labels = domain.split('.');
  const topLevel = labels.at(-1) ?? '';
  if (labels.length < 2) return { problem: 'domain has a single label' };
  if (labels.some((label) => label === '')) return { problem: 'domain has an empty label' };
  if (labels.some((label) => label.length > MAX_LABEL_LENGTH)) {
    return { problem: `domain has a label longer than ${MAX_LABEL_LENGTH} characters` };
  }
  if (topLevel.length < 2) return { problem: 'top-level label is shorter than 2 characters' };
  return { path: 'domain-name:value', mainObservableType: 'Domain-Name', value: domain };
}

const EMAIL_LOCAL_PART = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$/;
const EMAIL_DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** The platform's address rule: an ASCII local part, one `@`, and a domain of LDH labels. */
function readEmail(value: string): Observable | Problem {
  const parts = value.split('@');
  if (parts.length !== 2) return { problem: 'email address must contain exactly one "@"' };
  const [local = '', domain = ''] = parts;
  if (!EMAIL_LOCAL_PART.test(local)) {
    return {
      problem:
        "email local part is empty or has characters other than ASCII letters, digits and !#$%&'*+/=?^_`{|}~.-",
    };
  }
  if (!domain.split('.').every((label) => EMAIL_DOMAIN_LABEL.test(label))) {
    return { problem: 'email domain is not made of letter, digit and hyphen labels' };
  }
  return { path: 'email-addr:value', mainObservableType: 'Email-Addr', value };
}

interface HashAlgorithm {
  /** ThreatStream's `subtype`. */
  subtype: string;
  hexDigits: number;
  /**
   * Hash names with a hyphen must be quoted in a STIX object path; MD5 stays bare, as
   * python-stix2 writes it. The pattern text fixes the indicator id, so this must never change.
   */
  pathKey: string;
}

const MD5: HashAlgorithm = { subtype: 'MD5', hexDigits: 32, pathKey: 'MD5' };
const SHA1: HashAlgorithm = { subtype: 'SHA1', hexDigits: 40, pathKey: "'SHA-1'" };
const SHA256: HashAlgorithm = { subtype: 'SHA256', hexDigits: 64, pathKey: "'SHA-256'" };
const SHA512: HashAlgorithm = { subtype: 'SHA512', hexDigits: 128, pathKey: "'SHA-512'" };
const HASH_ALGORITHMS: readonly HashAlgorithm[] = [MD5, SHA1, SHA256, SHA512];

const CERTIFICATE_ITYPES = new Set(['mal_sslcert_sha1', 'mal_sslcert_sh1']);

/** ThreatStream reports every hash as type `md5`; `subtype` (or failing that, the length) says which. */
function hashKind(itype: string, subtype: string | null | undefined): Kind | Unsupported {
  if (itype === 'ja3_md5') {
    return { unsupported: 'itype ja3_md5 is a TLS client fingerprint, not a file hash' };
  }
  const declaredName = subtype?.trim().toUpperCase().replaceAll('-', '') ?? '';
  const declared = HASH_ALGORITHMS.find((algorithm) => algorithm.subtype === declaredName);
  if (declaredName !== '' && declared === undefined) {
    return { unsupported: `hash subtype ${quoted(subtype ?? '')} is not supported` };
  }
  if (CERTIFICATE_ITYPES.has(itype)) {
    return {
      uiKind: 'hash',
      read: (value) =>
        declared === undefined || declared === SHA1
          ? readHash(value, SHA1, 'x509-certificate', 'X509-Certificate')
          : { problem: `certificate itype ${itype} with hash subtype ${declared.subtype}` },
    };
  }
  return { uiKind: 'hash', read: (value) => readHash(value, declared, 'file', 'StixFile') };
}

function readHash(
  value: string,
  declared: HashAlgorithm | undefined,
  objectType: 'file' | 'x509-certificate',
  mainObservableType: MainObservableType,
): Observable | Problem {
  const hash = value.toLowerCase();
  if (!/^[0-9a-f]+$/.test(hash)) return { problem: 'hash is not hexadecimal' };
  const algorithm =
    declared ?? HASH_ALGORITHMS.find((candidate) => candidate.hexDigits === hash.length);
  if (algorithm === undefined) {
    return { problem: `a hash of ${hash.length} hex digits is not MD5, SHA-1, SHA-256 or SHA-512` };
  }
  if (hash.length !== algorithm.hexDigits) {
    return {
      problem: `${algorithm.subtype} hash must have ${algorithm.hexDigits} hex digits, not ${hash.length}`,
    };
  }
  return { path: `${objectType}:hashes.${algorithm.pathKey}`, mainObservableType, value: hash };
}

interface StringObservable {
  matches: (itype: string) => boolean;
  path: string;
  mainObservableType: MainObservableType;
}

/** `string` records say what they hold only through their itype, mostly its suffix. */
const STRING_OBSERVABLES: readonly StringObservable[] = [
  { matches: (itype) => itype.endsWith('_mutex'), path: 'mutex:name', mainObservableType: 'Mutex' },
  {
    matches: (itype) => itype.endsWith('_file_name'),
    path: 'file:name',
    mainObservableType: 'StixFile',
  },
  {
    matches: (itype) => itype.endsWith('_ssdeep'),
    path: 'file:hashes.SSDEEP',
    mainObservableType: 'StixFile',
  },
  {
    matches: (itype) => itype.endsWith('_ua') || itype.endsWith('user_agent'),
    path: 'user-agent:value',
    mainObservableType: 'User-Agent',
  },
  {
    matches: (itype) => itype.endsWith('_registry_key'),
    path: 'windows-registry-key:key',
    mainObservableType: 'Windows-Registry-Key',
  },
  {
    matches: (itype) =>
      ['bitcoin_wallet', 'crypto_wallet', 'web3_compromised_wallet'].includes(itype),
    path: 'cryptocurrency-wallet:value',
    mainObservableType: 'Cryptocurrency-Wallet',
  },
];

function stringKind(itype: string): Kind | Unsupported {
  const observable = STRING_OBSERVABLES.find((candidate) => candidate.matches(itype));
  if (observable === undefined) {
    return {
      unsupported:
        itype === ''
          ? 'string record without an itype'
          : `string itype ${quoted(itype)} has no STIX observable`,
    };
  }
  const { path, mainObservableType } = observable;
  return { uiKind: 'string', read: (value) => ({ path, mainObservableType, value }) };
}
