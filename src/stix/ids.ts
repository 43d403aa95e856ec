import { hash } from 'node:crypto';
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
  // The one-shot hash costs half of a createHash/update/digest sequence.
  const hex = hash('sha1', Buffer.concat([namespaceBytes(namespace), Buffer.from(name, 'utf8')]));
  // Version 5 in the high nibble of byte 6; variant 10xx in the high bits of byte 8.
  const variant = VARIANT_DIGITS[Number.parseInt(hex[16] ?? '0', 16) & 0x3] ?? '8';
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const VARIANT_DIGITS = '89ab';

/** The 16 bytes of a namespace UUID; every id of a kind uses the same namespace, so they are kept. */
const namespaceCache = new Map<string, Buffer>();

function namespaceBytes(namespace: string): Buffer {
  let bytes = namespaceCache.get(namespace);
  if (bytes === undefined) {
    if (!UUID_PATTERN.test(namespace)) {
      throw new TypeError(`namespace is not a UUID: ${namespace}`);
    }
    bytes = Buffer.from(namespace.replaceAll('-', ''), 'hex');
    // Bounded: only a caller passing ever new namespaces would fill it, and none does.
    if (namespaceCache.size < 16) namespaceCache.set(namespace, bytes);
  }
  return bytes;
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
  // canonicalJson({ pattern }) written out: one key, so nothing to sort.
  const canonical = `{"pattern":${JSON.stringify(pattern.trim())}}`;
  return `indicator--${uuidv5(canonical, OASIS_NAMESPACE)}`;
}

/** Object types whose id input is their normalised name alone. */
export type NamedObjectType =
  | 'intrusion-set'
  | 'campaign'
  | 'malware'
  | 'tool'
  | 'vulnerability'
  | 'attack-pattern'
  | 'infrastructure'
  | 'course-of-action';

/** pycti's name normalisation for id inputs. */
const idName = (name: string): string => name.toLowerCase().trim();

export function namedObjectId<T extends NamedObjectType>(type: T, name: string): StixId<T> {
  return stixId(type, { name: idName(name) });
}

/**
 * Attack patterns and courses of action with an ATT&CK id are identified by it alone, so they
 * merge with the objects of the MITRE connector. pycti trims the id of an attack pattern only.
 */
export function mitreObjectId<T extends 'attack-pattern' | 'course-of-action'>(
  type: T,
  mitreId: string,
): StixId<T> {
  return stixId(type, { x_mitre_id: type === 'attack-pattern' ? mitreId.trim() : mitreId });
}

export type ThreatActorKind = 'Threat-Actor-Group' | 'Threat-Actor-Individual';

export function threatActorId(name: string, kind: ThreatActorKind): StixId<'threat-actor'> {
  return stixId('threat-actor', { name: idName(name), opencti_type: kind });
}

/** `published` is hashed exactly as written: pass the STIX timestamp the report carries. */
export function reportId(name: string, published: string): StixId<'report'> {
  return stixId('report', { name: idName(name), published });
}

/** `created` is hashed exactly as written: pass the STIX timestamp the incident carries. */
export function incidentId(name: string, created: string): StixId<'incident'> {
  return stixId('incident', { name: idName(name), created });
}

export function relationshipId(
  relationshipType: string,
  sourceRef: string,
  targetRef: string,
): StixId<'relationship'> {
  return stixId('relationship', {
    relationship_type: relationshipType,
    source_ref: sourceRef,
    target_ref: targetRef,
  });
}

export function identityId(name: string, identityClass: string): StixId<'identity'> {
  return stixId('identity', {
    name: name.toLowerCase().trim(),
    identity_class: identityClass.toLowerCase(),
  });
}
