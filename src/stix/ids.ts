import { createHash } from 'node:crypto';
import type { StixId } from './types';

/**
 * Deterministic STIX ids computed exactly as pycti and the OpenCTI platform compute them, so an
 * object we send lands on the entity the platform already holds instead of creating a duplicate.
 */

/** The STIX 2.1 namespace for deterministic ids; pycti uses it for every object type. */
export const OASIS_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** RFC 9562 name-based UUID (version 5, SHA-1) of the UTF-8 bytes of `name`. */
export function uuidv5(name: string, namespace: string): string {
  if (!UUID_PATTERN.test(namespace)) {
    throw new TypeError(`namespace is not a UUID: ${namespace}`);
  }
  const digest = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  digest.writeUInt8((digest.readUInt8(6) & 0x0f) | 0x50, 6);
  digest.writeUInt8((digest.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = digest.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

/**
 * RFC 8785 (JCS) serialisation: keys sorted by UTF-16 code units, no whitespace, non-ASCII
 * characters written raw. JSON.stringify already writes strings and numbers the way JCS wants.
 * Properties whose value is undefined are left out, as JSON.stringify does.
 */
export function canonicalJson(value: JsonValue): string {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new RangeError(`${value} has no JSON representation`);
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (isJsonArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const members = Object.keys(value)
    .sort()
    .flatMap((key) => {
      const member = value[key];
      return member === undefined ? [] : [`${JSON.stringify(key)}:${canonicalJson(member)}`];
    });
  return `{${members.join(',')}}`;
}

function isJsonArray(value: object): value is readonly JsonValue[] {
  return Array.isArray(value);
}

function stixId<T extends string>(type: T, contributingProperties: JsonValue): StixId<T> {
  return `${type}--${uuidv5(canonicalJson(contributingProperties), OASIS_NAMESPACE)}`;
}

export function indicatorId(pattern: string): StixId<'indicator'> {
  return stixId('indicator', { pattern: pattern.trim() });
}

export function identityId(name: string, identityClass: string): StixId<'identity'> {
  return stixId('identity', {
    name: name.toLowerCase().trim(),
    identity_class: identityClass.toLowerCase(),
  });
}
