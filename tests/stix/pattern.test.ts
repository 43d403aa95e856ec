import { describe, expect, it } from '@jest/globals';
import { MAX_VALUE_LENGTH, escapePatternValue, observableOf } from '../../src/stix/pattern';
import type { IntelligenceRecord } from '../../src/threatstream/schema';
import { record } from './records';

type RecordShape = Pick<IntelligenceRecord, 'type' | 'value'> &
  Partial<Pick<IntelligenceRecord, 'itype' | 'subtype'>>;

function observable(shape: RecordShape) {
  return observableOf(record({ itype: null, subtype: null, ...shape }));
}

const MD5 = 'D41D8CD98F00B204E9800998ECF8427E';
const SHA1 = 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709';
const SHA256 = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855';
const SHA512 = 'CF83E1357EEFB8BDF1542850D66D8007D620E4050B5715DC83F4A921D36CE9CE'.padEnd(128, 'A');

describe('escapePatternValue', () => {
  it.each([
    ["o'brien", "o\\'brien"],
    ['C:\\Windows', 'C:\\\\Windows'],
    // Backslashes first: an escaped quote in the source must stay two characters, both escaped.
    ["\\'", "\\\\\\'"],
    ["a\\\\b''", "a\\\\\\\\b\\'\\'"],
    ['bücher.de 😀', 'bücher.de 😀'],
    ['plain', 'plain'],
  ])('escapes %j as %j', (value, escaped) => {
    expect(escapePatternValue(value)).toBe(escaped);
  });
});

describe('observableOf: supported records', () => {
  function expectObservable(
    shape: RecordShape,
    expected: { pattern: string; mainObservableType: string; uiKind: string },
  ): void {
    expect(observable(shape)).toMatchObject({ ok: true, ...expected });
  }

  it.each([
    ['1.2.3.4', "[ipv4-addr:value = '1.2.3.4']"],
    ['10.0.0.0/8', "[ipv4-addr:value = '10.0.0.0/8']"],
    ['0.0.0.0/0', "[ipv4-addr:value = '0.0.0.0/0']"],
  ])('maps IPv4 %s', (value, pattern) => {
    expectObservable(
      { type: 'ip', value },
      { pattern, mainObservableType: 'IPv4-Addr', uiKind: 'ip' },
    );
  });

  it.each([
    ['ip', '2001:DB8::1', "[ipv6-addr:value = '2001:db8::1']"],
    ['ipv6', 'fe80::1', "[ipv6-addr:value = 'fe80::1']"],
    ['ipv6', '2001:db8::/32', "[ipv6-addr:value = '2001:db8::/32']"],
    ['ipv6', '::ffff:1.2.3.4', "[ipv6-addr:value = '::ffff:1.2.3.4']"],
  ])('maps a %s record holding IPv6 %s, lower-cased', (type, value, pattern) => {
    expectObservable({ type, value }, { pattern, mainObservableType: 'IPv6-Addr', uiKind: 'ip' });
  });

  it.each([
    ['Example.COM', "[domain-name:value = 'example.com']"],
    ['Bücher.de', "[domain-name:value = 'bücher.de']"],
    ["o'reilly.example", "[domain-name:value = 'o\\'reilly.example']"],
  ])('maps domain %s, lower-cased', (value, pattern) => {
    expectObservable(
      { type: 'domain', value },
      { pattern, mainObservableType: 'Domain-Name', uiKind: 'domain' },
    );
  });

  it.each([
    ['HTTP://Example.com/A?b=C', "[url:value = 'HTTP://Example.com/A?b=C']"],
    ["http://x.example/it's\\here", "[url:value = 'http://x.example/it\\'s\\\\here']"],
    ['http://bücher.de/ä', "[url:value = 'http://bücher.de/ä']"],
  ])('maps URL %s without altering it', (value, pattern) => {
    expectObservable({ type: 'url', value }, { pattern, mainObservableType: 'Url', uiKind: 'url' });
  });

  it.each([
    ['a@example.com', "[email-addr:value = 'a@example.com']"],
    ["o'brien@example.com", "[email-addr:value = 'o\\'brien@example.com']"],
    ['First.Last+tag@Mail.Example.com', "[email-addr:value = 'First.Last+tag@Mail.Example.com']"],
  ])('maps email %s', (value, pattern) => {
    expectObservable(
      { type: 'email', value },
      { pattern, mainObservableType: 'Email-Addr', uiKind: 'email' },
    );
  });

  it.each<[string | null, string, string]>([
    ['MD5', MD5, 'MD5'],
    ['SHA1', SHA1, "'SHA-1'"],
    ['SHA256', SHA256, "'SHA-256'"],
    ['SHA512', SHA512, "'SHA-512'"],
    ['sha-256', SHA256, "'SHA-256'"],
    [null, MD5, 'MD5'],
    ['', SHA1, "'SHA-1'"],
    [null, SHA256, "'SHA-256'"],
    [null, SHA512, "'SHA-512'"],
  ])(
    'maps a hash of subtype %j and %#th value to file:hashes.%s, lower-cased',
    (subtype, value, key) => {
      expectObservable(
        { type: 'md5', value, subtype },
        {
          pattern: `[file:hashes.${key} = '${value.toLowerCase()}']`,
          mainObservableType: 'StixFile',
          uiKind: 'hash',
        },
      );
    },
  );

  it.each(['mal_sslcert_sha1', 'mal_sslcert_sh1'])(
    'maps itype %s to a certificate hash',
    (itype) => {
      expectObservable(
        { type: 'md5', value: SHA1, itype, subtype: 'SHA1' },
        {
          pattern: `[x509-certificate:hashes.'SHA-1' = '${SHA1.toLowerCase()}']`,
          mainObservableType: 'X509-Certificate',
          uiKind: 'hash',
        },
      );
    },
  );

  it.each([
    ['mal_mutex', 'Global\\Mtx', "[mutex:name = 'Global\\\\Mtx']", 'Mutex'],
    ['apt_file_name', "invoice'2024.exe", "[file:name = 'invoice\\'2024.exe']", 'StixFile'],
    [
      'mal_ssdeep',
      '3:AXGBicFlgVN:AXGHsN',
      "[file:hashes.SSDEEP = '3:AXGBicFlgVN:AXGHsN']",
      'StixFile',
    ],
    [
      'apt_ua',
      'Mozilla/4.0 (MSIE 6.0)',
      "[user-agent:value = 'Mozilla/4.0 (MSIE 6.0)']",
      'User-Agent',
    ],
    ['botnet_user_agent', 'curl/7.1', "[user-agent:value = 'curl/7.1']", 'User-Agent'],
    [
      'mal_registry_key',
      'HKLM\\Software\\Run',
      "[windows-registry-key:key = 'HKLM\\\\Software\\\\Run']",
      'Windows-Registry-Key',
    ],
    [
      'bitcoin_wallet',
      '1BoatSLRHtKNngkdXEeobR76b53LETtpyT',
      "[cryptocurrency-wallet:value = '1BoatSLRHtKNngkdXEeobR76b53LETtpyT']",
      'Cryptocurrency-Wallet',
    ],
    ['crypto_wallet', '0xabc', "[cryptocurrency-wallet:value = '0xabc']", 'Cryptocurrency-Wallet'],
    [
      'web3_compromised_wallet',
      '0xdef',
      "[cryptocurrency-wallet:value = '0xdef']",
      'Cryptocurrency-Wallet',
    ],
    ['MAL_MUTEX', 'm', "[mutex:name = 'm']", 'Mutex'],
  ])('maps a string of itype %s', (itype, value, pattern, mainObservableType) => {
    expectObservable(
      { type: 'string', value, itype },
      { pattern, mainObservableType, uiKind: 'string' },
    );
  });

  it('reads the type case-insensitively', () => {
    expectObservable(
      { type: 'Domain', value: 'example.com' },
      {
        pattern: "[domain-name:value = 'example.com']",
        mainObservableType: 'Domain-Name',
        uiKind: 'domain',
      },
    );
  });

  it('trims the value and reports it unescaped', () => {
    expect(observable({ type: 'url', value: "  http://x.example/'q'\n" })).toEqual({
      ok: true,
      pattern: "[url:value = 'http://x.example/\\'q\\'']",
      mainObservableType: 'Url',
      value: "http://x.example/'q'",
      uiKind: 'url',
    });
  });

  it(`accepts a value of exactly ${MAX_VALUE_LENGTH} characters`, () => {
    const url = `http://x.example/${'a'.repeat(MAX_VALUE_LENGTH - 17)}`;
    expect(url).toHaveLength(MAX_VALUE_LENGTH);
    expect(observable({ type: 'url', value: url }).ok).toBe(true);
  });

  it('accepts a domain at the 253-character and 63-character-label limits', () => {
    const label = 'a'.repeat(63);
    const domain = `${label}.${label}.${label}.${'b'.repeat(61)}`;
    expect(domain).toHaveLength(253);
    expect(observable({ type: 'domain', value: domain }).ok).toBe(true);
  });
});

describe('observableOf: unsupported records', () => {
  it.each<[string, RecordShape, RegExp]>([
    ['an unknown type', { type: 'phone', value: '+15555550100' }, /type "phone"/],
    ['an empty type', { type: '', value: 'x' }, /type ""/],
    ['a JA3 fingerprint', { type: 'md5', value: MD5, itype: 'ja3_md5' }, /TLS client fingerprint/],
    ['an unknown hash subtype', { type: 'md5', value: MD5, subtype: 'SHA384' }, /subtype "SHA384"/],
    [
      'a string with an unmapped itype',
      { type: 'string', value: 'Invoice', itype: 'mal_email_subject' },
      /itype "mal_email_subject"/,
    ],
    ['a string without an itype', { type: 'string', value: 'x' }, /without an itype/],
    [
      'a wildcard domain string',
      { type: 'string', value: '%.example.com', itype: 'mal_wildcard_domain' },
      /mal_wildcard_domain/,
    ],
  ])('skips %s', (_name, shape, detail) => {
    const result = observable(shape);
    expect(result).toMatchObject({ ok: false, reason: 'unsupported_type' });
    expect(!result.ok && result.detail).toMatch(detail);
  });

  it('reports an unsupported type before looking at the value', () => {
    expect(observable({ type: 'phone', value: '' })).toMatchObject({ reason: 'unsupported_type' });
  });
});

describe('observableOf: invalid values', () => {
  it.each<[string, RecordShape, RegExp]>([
    ['an empty value', { type: 'url', value: '' }, /empty/],
    ['a blank value', { type: 'domain', value: ' \t ' }, /empty/],
    [
      'a value over the length limit',
      { type: 'url', value: `http://x.example/${'a'.repeat(MAX_VALUE_LENGTH)}` },
      /over the 8192 limit/,
    ],
    ['a NUL character', { type: 'url', value: 'http://x.example/\u0000' }, /U\+0000/],
    ['a line feed inside the value', { type: 'url', value: 'http://x.example/a\nb' }, /U\+000A/],
    ['a unit separator', { type: 'string', value: 'a\u001fb', itype: 'mal_mutex' }, /U\+001F/],
    ['a DEL character', { type: 'email', value: 'a\u007f@example.com' }, /U\+007F/],
    [
      'an unpaired surrogate',
      { type: 'url', value: 'http://x.example/\ud800' },
      /unpaired surrogate U\+D800/,
    ],
    ['an IPv4 octet over 255', { type: 'ip', value: '999.1.1.1' }, /IPv4/],
    ['a short IPv4 address', { type: 'ip', value: '1.2.3' }, /IPv4/],
    ['an IPv4 prefix over 32', { type: 'ip', value: '1.2.3.0/33' }, /IPv4/],
    ['an IPv4 prefix with a leading zero', { type: 'ip', value: '1.2.3.0/08' }, /IPv4/],
    ['two IPv4 prefixes', { type: 'ip', value: '1.2.3.0/8/8' }, /IPv4/],
    ['a host name typed ip', { type: 'ip', value: 'example.com' }, /IPv4/],
    ['an IPv4 address typed ipv6', { type: 'ipv6', value: '1.2.3.4' }, /IPv6/],
    ['a malformed IPv6 address', { type: 'ipv6', value: '2001:db8:::1' }, /IPv6/],
    ['an IPv6 prefix over 128', { type: 'ipv6', value: '2001:db8::/129' }, /IPv6/],
    ['an IPv6 zone index', { type: 'ipv6', value: 'fe80::1%eth0' }, /zone index/],
    [
      'an uncompressed IPv6 with an IPv4 tail',
      { type: 'ipv6', value: '1:2:3:4:5:6:1.2.3.4' },
      /"::"/,
    ],
    ['a domain with a space', { type: 'domain', value: 'exa mple.com' }, /whitespace/],
    [
      'a domain with a no-break space',
      { type: 'domain', value: 'exa\u00a0mple.com' },
      /whitespace/,
    ],
    ['a domain with a path', { type: 'domain', value: 'example.com/login' }, /slash/],
    ['a domain with a backslash', { type: 'domain', value: 'example.com\\x' }, /slash/],
    ['a single-label domain', { type: 'domain', value: 'localhost' }, /single label/],
    ['a one-letter top-level label', { type: 'domain', value: 'example.c' }, /top-level/],
    ['a trailing dot', { type: 'domain', value: 'example.com.' }, /empty label/],
    ['an empty label', { type: 'domain', value: 'a..example.com' }, /empty label/],
    ['a leading hyphen', { type: 'domain', value: '-example.com' }, /hyphen/],
    [
      'a label of 64 characters',
      { type: 'domain', value: `${'a'.repeat(64)}.com` },
      /longer than 63/,
    ],
    [
      'a domain of 254 characters',
      { type: 'domain', value: `${'a.'.repeat(125)}abcd` },
      /longer than 253/,
    ],
    ['an address with two @', { type: 'email', value: 'a@b@example.com' }, /exactly one "@"/],
    ['an address without @', { type: 'email', value: 'a.example.com' }, /exactly one "@"/],
    ['an address with a space', { type: 'email', value: 'a b@example.com' }, /local part/],
    ['an empty local part', { type: 'email', value: '@example.com' }, /local part/],
    ['a non-ASCII local part', { type: 'email', value: 'jürgen@example.com' }, /local part/],
    ['an empty mail domain', { type: 'email', value: 'a@' }, /email domain/],
    [
      'a mail domain label starting with a hyphen',
      { type: 'email', value: 'a@-x.example.com' },
      /email domain/,
    ],
    ['a non-hex hash', { type: 'md5', value: 'z'.repeat(32) }, /not hexadecimal/],
    ['a hash of no known length', { type: 'md5', value: 'a'.repeat(33) }, /33 hex digits/],
    [
      'an MD5 subtype on a SHA-256 value',
      { type: 'md5', value: SHA256, subtype: 'MD5' },
      /MD5 hash must have 32 hex digits, not 64/,
    ],
    [
      'a SHA256 subtype on an MD5 value',
      { type: 'md5', value: MD5, subtype: 'SHA256' },
      /SHA256 hash must have 64/,
    ],
    [
      'a certificate hash of MD5 length',
      { type: 'md5', value: MD5, itype: 'mal_sslcert_sha1' },
      /SHA1 hash must have 40/,
    ],
    [
      'a certificate itype with a SHA256 subtype',
      { type: 'md5', value: SHA256, itype: 'mal_sslcert_sha1', subtype: 'SHA256' },
      /certificate itype/,
    ],
  ])('refuses %s', (_name, shape, detail) => {
    const result = observable(shape);
    expect(result).toMatchObject({ ok: false, reason: 'invalid_value' });
    expect(!result.ok && result.detail).toMatch(detail);
  });
});
