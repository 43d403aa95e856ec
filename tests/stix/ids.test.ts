import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  OASIS_NAMESPACE,
  canonicalJson,
  identityId,
  indicatorId,
  uuidv5,
  type JsonValue,
} from '../../src/stix/ids';

/** How pycti and python-stix2 derive the id of any other object type. */
function idOf(type: string, properties: JsonValue): string {
  return `${type}--${uuidv5(canonicalJson(properties), OASIS_NAMESPACE)}`;
}

describe('uuidv5', () => {
  it('matches the RFC 9562 / Python uuid.uuid5 reference values', () => {
    const dnsNamespace = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
    const urlNamespace = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
    expect(uuidv5('python.org', dnsNamespace)).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(uuidv5('https://ui.threatstream.com/', urlNamespace)).toBe(
      '30e6ce71-5300-50ad-8c37-2a41ed2c5416',
    );
  });

  it('accepts an upper-case namespace', () => {
    expect(uuidv5('python.org', '6BA7B810-9DAD-11D1-80B4-00C04FD430C8')).toBe(
      '886313e1-3b8a-5372-9b90-0c9aee199e5d',
    );
  });

  it('sets the version 5 and RFC variant bits', () => {
    for (const name of ['', 'a', 'bücher', '😀'.repeat(50)]) {
      expect(uuidv5(name, OASIS_NAMESPACE)).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => uuidv5('x', 'not-a-uuid')).toThrow(TypeError);
    expect(() => uuidv5('x', '00abedb4aa42466c9c01fed23315a9b7')).toThrow(TypeError);
  });
});

describe('canonicalJson', () => {
  it('sorts keys and writes no whitespace', () => {
    expect(canonicalJson({ name: 'x', identity_class: 'organization' })).toBe(
      '{"identity_class":"organization","name":"x"}',
    );
  });

  it('keeps non-ASCII characters raw instead of \\u-escaping them', () => {
    expect(canonicalJson({ value: 'bücher.de 😀' })).toBe('{"value":"bücher.de 😀"}');
  });

  it('escapes quotes, backslashes and control characters as JSON requires', () => {
    expect(canonicalJson({ v: 'a"b\\c\n\t\u0001\u001f' })).toBe(
      '{"v":"a\\"b\\\\c\\n\\t\\u0001\\u001f"}',
    );
  });

  it('sorts nested objects and keeps array order', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: 2 }], a: { y: null, x: true } })).toBe(
      '{"a":{"x":true,"y":null},"b":[3,{"a":2,"z":1}]}',
    );
  });

  it('orders keys by UTF-16 code units, as RFC 8785 requires', () => {
    // By code point U+1F600 would sort after U+FFFD; by UTF-16 code unit (0xD83D) it sorts before.
    expect(canonicalJson({ '\uFFFD': 1, '😀': 2, z: 3, Z: 4, é: 5 })).toBe(
      '{"Z":4,"z":3,"é":5,"😀":2,"\uFFFD":1}',
    );
  });

  it('writes numbers in their shortest ECMAScript form', () => {
    expect(canonicalJson({ a: 1.0, b: 1e21, c: 0.1, d: -0 })).toBe(
      '{"a":1,"b":1e+21,"c":0.1,"d":0}',
    );
  });

  it('leaves out undefined properties and refuses non-finite numbers', () => {
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(RangeError);
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});

describe('indicatorId', () => {
  it.each([
    ["[ipv4-addr:value = '1.2.3.4']", 'indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861'],
    ["[domain-name:value = 'example.com']", 'indicator--7a77fc31-d147-5d72-a862-2102ca88d002'],
    ["[url:value = 'http://example.com/a']", 'indicator--0d619d2d-b583-57d0-8d1f-e17748698183'],
    [
      "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
      'indicator--8d30e978-c6dd-5439-9ed0-bd61238915c3',
    ],
    ["[domain-name:value = 'bücher.de']", 'indicator--5ed7b3f2-5b9d-51e0-9743-cadfcbbec8d8'],
  ])('gives %s the id pycti gives it', (pattern, id) => {
    expect(indicatorId(pattern)).toBe(id);
  });

  it('ignores surrounding whitespace, as pycti strips the pattern', () => {
    expect(indicatorId("  [ipv4-addr:value = '1.2.3.4']\n")).toBe(
      'indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861',
    );
  });

  it('depends on the exact pattern text inside the brackets', () => {
    expect(indicatorId("[ipv4-addr:value='1.2.3.4']")).not.toBe(
      indicatorId("[ipv4-addr:value = '1.2.3.4']"),
    );
  });
});

describe('identityId', () => {
  it('gives organizations the ids pycti gives them', () => {
    expect(identityId('Anomali ThreatStream', 'organization')).toBe(
      'identity--9425cc8e-8a15-50c9-963c-edd015e3df68',
    );
    expect(identityId('Anomali', 'organization')).toBe(
      'identity--63b6193d-b28f-5e34-a552-bb37a3a0bfea',
    );
  });

  it('lower-cases and trims the name and lower-cases the class', () => {
    expect(identityId('  ANOMALI threatstream ', 'Organization')).toBe(
      'identity--9425cc8e-8a15-50c9-963c-edd015e3df68',
    );
  });
});

describe('ids of other object types, computed the same way', () => {
  const indicator = 'indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861';
  const ipv4 = 'ipv4-addr--0198f97b-e65d-5025-87e5-58bc39d4bdb4';

  it.each<[string, string, JsonValue, string]>([
    ['ipv4-addr 1.2.3.4', 'ipv4-addr', { value: '1.2.3.4' }, ipv4],
    [
      'domain-name example.com',
      'domain-name',
      { value: 'example.com' },
      'domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7',
    ],
    [
      'url http://example.com/a',
      'url',
      { value: 'http://example.com/a' },
      'url--90a682b4-db61-5016-9aaa-eb700579af05',
    ],
    [
      'email-addr a@example.com',
      'email-addr',
      { value: 'a@example.com' },
      'email-addr--8f5f7fba-cc24-5e3f-aca4-f7194112e042',
    ],
    [
      'file with an MD5 (nested object)',
      'file',
      { hashes: { MD5: 'd41d8cd98f00b204e9800998ecf8427e' } },
      'file--02fff920-f614-527c-81d1-6353633a6d21',
    ],
    ['label malware', 'label', { value: 'malware' }, 'label--75615ade-1858-5c60-9ebd-9b63bc534dc5'],
    [
      'external reference',
      'external-reference',
      { url: 'https://ui.threatstream.com/detail/ip/1.2.3.4' },
      'external-reference--9813cf4e-685b-58bf-a7ff-7885a53d4df5',
    ],
    [
      'based-on relationship',
      'relationship',
      { relationship_type: 'based-on', source_ref: indicator, target_ref: ipv4 },
      'relationship--a787645d-9c70-51d7-b74a-91f3c0a88d3f',
    ],
  ])('%s', (_name, type, properties, id) => {
    expect(idOf(type, properties)).toBe(id);
  });
});

/** RFC 9562 version 5 UUID, computed the straightforward way. */
function referenceUuidv5(name: string, namespace: string): string {
  const digest = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('uuidv5 and indicatorId on any text', () => {
  it('match a plain SHA-1 computation over the generic canonical JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (pattern) => {
        expect(uuidv5(pattern, OASIS_NAMESPACE)).toBe(referenceUuidv5(pattern, OASIS_NAMESPACE));
        const canonical = canonicalJson({ pattern: pattern.trim() });
        expect(indicatorId(pattern)).toBe(
          `indicator--${referenceUuidv5(canonical, OASIS_NAMESPACE)}`,
        );
      }),
      { numRuns: 5_000 },
    );
  });
});
