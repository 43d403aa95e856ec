import { describe, expect, it } from '@jest/globals';
import { authorIdentity } from '../../src/stix/author';
import { convertRecord } from '../../src/stix/convert';
import type { SkipReason } from '../../src/stix/skip';
import { TLP_MARKING_IDS, type Tlp } from '../../src/stix/markings';
import type { IntelligenceRecord } from '../../src/threatstream/schema';
import { AUTHOR, OPTIONS, converted, indicatorOf, record } from './records';

function skipOf(source: IntelligenceRecord): { reason: SkipReason; detail: string } {
  const result = convertRecord(source, OPTIONS);
  if (result.ok) throw new Error(`expected a skip, got ${result.indicator.pattern}`);
  return result;
}

describe('convertRecord: the indicator', () => {
  it('maps an active record to a complete indicator', () => {
    const result = converted(record());
    expect(result.revoked).toBe(false);
    expect(result.indicator).toEqual({
      type: 'indicator',
      spec_version: '2.1',
      id: 'indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861',
      created: '2024-03-01T10:00:00.000Z',
      modified: '2024-03-02T10:00:00.000Z',
      created_by_ref: 'identity--9425cc8e-8a15-50c9-963c-edd015e3df68',
      name: '1.2.3.4',
      description: 'Source: Analyst',
      indicator_types: ['malicious-activity'],
      pattern: "[ipv4-addr:value = '1.2.3.4']",
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: '2024-03-01T10:00:00.000Z',
      valid_until: '2024-06-01T10:00:00.000Z',
      revoked: false,
      labels: ['c2_ip'],
      external_references: [
        {
          source_name: 'Anomali ThreatStream',
          external_id: '1001',
          url: 'https://ui.threatstream.com/detail/ip/1.2.3.4',
        },
      ],
      object_marking_refs: [TLP_MARKING_IDS.amber],
      x_opencti_score: 80,
      x_opencti_detection: true,
      x_opencti_main_observable_type: 'IPv4-Addr',
      x_opencti_create_observables: true,
    });
  });

  it('never sets confidence: the platform takes it from the connector user', () => {
    expect(indicatorOf(record())).not.toHaveProperty('confidence');
  });

  it('names the indicator after the normalised value', () => {
    expect(indicatorOf(record({ type: 'domain', value: ' Example.COM ' })).name).toBe(
      'example.com',
    );
  });

  it('takes the author and the observable switch from the options', () => {
    const author = authorIdentity('Someone Else');
    const indicator = indicatorOf(record(), { ...OPTIONS, author, createObservables: false });
    expect(indicator.created_by_ref).toBe(author.id);
    expect(indicator.created_by_ref).not.toBe(AUTHOR.id);
    expect(indicator.x_opencti_create_observables).toBe(false);
  });

  it('gives the same record the same indicator every time', () => {
    expect(JSON.stringify(indicatorOf(record()))).toBe(JSON.stringify(indicatorOf(record())));
  });

  it('passes a skip from the pattern through unchanged', () => {
    expect(skipOf(record({ type: 'phone' }))).toEqual({
      ok: false,
      reason: 'unsupported_type',
      detail: 'type "phone" has no STIX observable',
    });
    expect(skipOf(record({ value: '1.2.3.999' })).reason).toBe('invalid_value');
  });
});

describe('convertRecord: link back to ThreatStream', () => {
  it.each([
    ['https://ui.threatstream.com', 'https://ui.threatstream.com/detail/ip/1.2.3.4'],
    ['https://ui.threatstream.com///', 'https://ui.threatstream.com/detail/ip/1.2.3.4'],
    ['https://ts.example.org/ui/', 'https://ts.example.org/ui/detail/ip/1.2.3.4'],
  ])('joins %s without a double slash', (uiUrl, url) => {
    expect(indicatorOf(record(), { ...OPTIONS, uiUrl }).external_references[0]?.url).toBe(url);
  });

  it('encodes the value as one path segment, under the record kind', () => {
    const indicator = indicatorOf(
      record({ id: '42', type: 'url', value: "http://x.example/a b?c=d&e='f'#g" }),
    );
    expect(indicator.external_references).toEqual([
      {
        source_name: 'Anomali ThreatStream',
        external_id: '42',
        url: "https://ui.threatstream.com/detail/url/http%3A%2F%2Fx.example%2Fa%20b%3Fc%3Dd%26e%3D'f'%23g",
      },
    ]);
  });

  it.each<[Partial<IntelligenceRecord>, string]>([
    [{ type: 'domain', value: 'Bücher.de' }, 'domain/b%C3%BCcher.de'],
    [{ type: 'email', value: 'a@example.com' }, 'email/a%40example.com'],
    [
      { type: 'md5', value: 'D41D8CD98F00B204E9800998ECF8427E' },
      'hash/d41d8cd98f00b204e9800998ecf8427e',
    ],
    [{ type: 'ipv6', value: '2001:db8::1' }, 'ip/2001%3Adb8%3A%3A1'],
    [{ type: 'string', itype: 'mal_mutex', value: 'Global\\m' }, 'string/Global%5Cm'],
  ])('links %j to detail/%s', (overrides, path) => {
    expect(indicatorOf(record(overrides)).external_references[0]?.url).toBe(
      `https://ui.threatstream.com/detail/${path}`,
    );
  });
});

describe('convertRecord: timestamps', () => {
  it.each([
    ['2024-03-01T10:00:00.000Z', '2024-03-01T10:00:00.000Z'],
    ['2024-03-01T10:00:00Z', '2024-03-01T10:00:00.000Z'],
    ['2024-03-01T10:00:00', '2024-03-01T10:00:00.000Z'],
    ['2024-03-01T10:00:00.123456', '2024-03-01T10:00:00.123Z'],
    ['2024-03-01T12:00:00+02:00', '2024-03-01T10:00:00.000Z'],
    ['2024-03-01T05:00:00.5-05:00', '2024-03-01T10:00:00.500Z'],
    [' 2024-03-01T10:00:00Z ', '2024-03-01T10:00:00.000Z'],
  ])('reads created_ts %j as %s, offset-less meaning UTC', (createdTs, created) => {
    const indicator = indicatorOf(
      record({ created_ts: createdTs, modified_ts: createdTs, expiration_ts: null }),
    );
    expect(indicator.created).toBe(created);
    expect(indicator.valid_from).toBe(created);
    expect(indicator.modified).toBe(created);
  });

  it('never lets modified fall before created', () => {
    const indicator = indicatorOf(
      record({ created_ts: '2024-03-05T00:00:00Z', modified_ts: '2024-03-01T00:00:00Z' }),
    );
    expect(indicator.modified).toBe('2024-03-05T00:00:00.000Z');
  });

  it('accepts a year-9999 created_ts, the last year a STIX timestamp can hold', () => {
    const indicator = indicatorOf(
      record({ created_ts: '9999-06-01T00:00:00Z', modified_ts: '9999-06-01T00:00:00Z' }),
    );
    expect(indicator.created).toBe('9999-06-01T00:00:00.000Z');
    expect(indicator).not.toHaveProperty('valid_until');
  });

  it.each<[string, Partial<IntelligenceRecord>]>([
    ['a word', { created_ts: 'yesterday' }],
    ['an empty string', { created_ts: '' }],
    ['an impossible date', { created_ts: '2021-02-30T00:00:00Z' }],
    ['a leap second', { created_ts: '2016-12-31T23:59:60Z' }],
    ['a year past 9999', { created_ts: '+010000-01-01T00:00:00Z' }],
    ['an offset that pushes past 9999', { created_ts: '9999-12-31T23:00:00-05:00' }],
    ['a negative year', { created_ts: '-000001-01-01T00:00:00Z' }],
    ['an epoch number', { created_ts: '1709287200000' }],
    ['a garbage modified_ts', { modified_ts: 'n/a' }],
  ])('skips a record whose timestamp is %s', (_name, overrides) => {
    const skip = skipOf(record(overrides));
    expect(skip.reason).toBe('invalid_timestamp');
    expect(skip.detail).toMatch('created_ts' in overrides ? /^created_ts / : /^modified_ts /);
  });

  it('quotes a hostile timestamp in the detail, shortened and with control characters escaped', () => {
    const skip = skipOf(record({ created_ts: `\u0000${'9'.repeat(500)}` }));
    expect(skip.detail).toContain('"\\u00009999');
    expect(skip.detail.length).toBeLessThan(200);
  });
});

describe('convertRecord: expiry of active records', () => {
  function validUntilOf(expirationTs: string | null | undefined): string | undefined {
    return indicatorOf(record({ expiration_ts: expirationTs })).valid_until;
  }

  it('uses expiration_ts as valid_until', () => {
    expect(validUntilOf('2024-06-01T10:00:00.000Z')).toBe('2024-06-01T10:00:00.000Z');
    expect(validUntilOf('2024-06-01T12:00:00+02:00')).toBe('2024-06-01T10:00:00.000Z');
  });

  it('keeps an expiry already in the past, so the platform revokes the indicator', () => {
    const indicator = indicatorOf(
      record({
        created_ts: '2020-01-01T00:00:00Z',
        modified_ts: '2020-01-02T00:00:00Z',
        expiration_ts: '2020-04-01T00:00:00Z',
      }),
    );
    expect(indicator.valid_until).toBe('2020-04-01T00:00:00.000Z');
    expect(indicator.revoked).toBe(false);
  });

  it.each([
    ['the 9999-12-31 sentinel', '9999-12-31T00:00:00.000Z'],
    ['the 2318 sentinel', '2318-07-09T20:41:16.995Z'],
    ['the first instant of 2100', '2100-01-01T00:00:00.000Z'],
    ['an expiry before created', '2024-02-01T00:00:00.000Z'],
    ['an expiry equal to created', '2024-03-01T10:00:00.000Z'],
    ['an unreadable expiry', 'never'],
    ['an empty expiry', ''],
    ['no expiry', null],
  ])('sets no valid_until for %s', (_name, expirationTs) => {
    expect(validUntilOf(expirationTs)).toBeUndefined();
  });

  it('keeps an expiry in the last instant before 2100', () => {
    expect(validUntilOf('2099-12-31T23:59:59.999Z')).toBe('2099-12-31T23:59:59.999Z');
  });
});

describe('convertRecord: status', () => {
  it.each(['inactive', 'falsepos', 'Inactive', ' FALSEPOS '])('revokes a %j record', (status) => {
    const result = converted(
      record({
        status,
        created_ts: '2024-03-01T10:00:00Z',
        modified_ts: '2024-05-01T08:30:00Z',
        expiration_ts: '9999-12-31T00:00:00Z',
      }),
    );
    expect(result.revoked).toBe(true);
    expect(result.indicator.revoked).toBe(true);
    expect(result.indicator.x_opencti_detection).toBe(false);
    // The platform revokes only when valid_until has passed: the deactivation time has.
    expect(result.indicator.valid_until).toBe('2024-05-01T08:30:00.000Z');
  });

  it('gives a revoked record modified at its creation a one-second validity window', () => {
    const indicator = indicatorOf(
      record({
        status: 'inactive',
        created_ts: '2024-03-01T10:00:00Z',
        modified_ts: '2024-03-01T10:00:00Z',
      }),
    );
    expect(indicator.valid_from).toBe('2024-03-01T10:00:00.000Z');
    expect(indicator.valid_until).toBe('2024-03-01T10:00:01.000Z');
  });

  it('stretches a revoked window shorter than a second to one second', () => {
    const indicator = indicatorOf(
      record({
        status: 'falsepos',
        created_ts: '2024-03-01T10:00:00.000Z',
        modified_ts: '2024-03-01T10:00:00.400Z',
      }),
    );
    expect(indicator.valid_until).toBe('2024-03-01T10:00:01.000Z');
  });

  it('uses the creation time plus a second when modified_ts is earlier than created_ts', () => {
    const indicator = indicatorOf(
      record({
        status: 'inactive',
        created_ts: '2024-03-05T00:00:00Z',
        modified_ts: '2024-03-01T00:00:00Z',
      }),
    );
    expect(indicator.valid_until).toBe('2024-03-05T00:00:01.000Z');
  });

  it('skips a revoked record created in the last second of year 9999', () => {
    const skip = skipOf(
      record({
        status: 'inactive',
        created_ts: '9999-12-31T23:59:59.500Z',
        modified_ts: '9999-12-31T23:59:59.500Z',
      }),
    );
    expect(skip.reason).toBe('invalid_timestamp');
  });

  it('keeps an active record detectable', () => {
    const result = converted(record({ status: 'ACTIVE' }));
    expect(result.revoked).toBe(false);
    expect(result.indicator.x_opencti_detection).toBe(true);
  });

  it.each(['pending', '', 'deleted'])('skips status %j', (status) => {
    expect(skipOf(record({ status }))).toEqual({
      ok: false,
      reason: 'unsupported_status',
      detail: `status ${JSON.stringify(status)} is not active, inactive or falsepos`,
    });
  });
});

describe('convertRecord: score', () => {
  function scoreOf(overrides: Partial<IntelligenceRecord>): number {
    return indicatorOf(record(overrides)).x_opencti_score;
  }

  it.each([0, 1, 50, 99, 100])('uses confidence %d as it is', (confidence) => {
    expect(scoreOf({ confidence, meta: { severity: 'low' } })).toBe(confidence);
  });

  it.each([
    ['low', 25],
    ['medium', 50],
    ['high', 75],
    ['very-high', 100],
    [' Very-High ', 100],
  ])('falls back to severity %j when ThreatStream did not score (-1)', (severity, score) => {
    expect(scoreOf({ confidence: -1, meta: { severity } })).toBe(score);
  });

  it.each([101, -5, 50.5, Number.NaN])('ignores the out-of-range confidence %d', (confidence) => {
    expect(scoreOf({ confidence, meta: { severity: 'low' } })).toBe(25);
  });

  it.each<[string, Partial<IntelligenceRecord>]>([
    ['no confidence and no meta', { confidence: null, meta: null }],
    ['no confidence and no severity', { confidence: undefined, meta: { detail: 'x' } }],
    ['-1 and an unknown severity', { confidence: -1, meta: { severity: 'critical' } }],
    [
      '-1 and a severity named like an object property',
      { confidence: -1, meta: { severity: 'constructor' } },
    ],
    ['-1 and a __proto__ severity', { confidence: -1, meta: { severity: '__proto__' } }],
  ])('defaults to 50 with %s', (_name, overrides) => {
    expect(scoreOf(overrides)).toBe(50);
  });
});

describe('convertRecord: marking', () => {
  it.each<[string, Tlp]>([
    ['white', 'clear'],
    ['clear', 'clear'],
    ['green', 'green'],
    ['amber', 'amber'],
    ['amber+strict', 'amber+strict'],
    ['red', 'red'],
    ['TLP:RED', 'red'],
  ])('marks a record of tlp %j as %s', (tlp, level) => {
    expect(
      indicatorOf(record({ tlp }), { ...OPTIONS, defaultTlp: 'green' }).object_marking_refs,
    ).toEqual([TLP_MARKING_IDS[level]]);
  });

  it.each([null, undefined, '', 'purple'])('uses the default for tlp %j', (tlp) => {
    expect(
      indicatorOf(record({ tlp }), { ...OPTIONS, defaultTlp: 'amber+strict' }).object_marking_refs,
    ).toEqual([TLP_MARKING_IDS['amber+strict']]);
  });
});

describe('convertRecord: labels', () => {
  it('takes tag names then the itype, trimmed, blank ones dropped, first spelling kept', () => {
    const indicator = indicatorOf(
      record({
        itype: 'c2_ip',
        tags: [
          { name: ' test ' },
          { name: 'TEST' },
          null,
          { name: '   ' },
          { name: 'Other' },
          { name: 'C2_IP' },
        ],
      }),
    );
    expect(indicator.labels).toEqual(['test', 'Other', 'C2_IP']);
  });

  it('omits labels when there is nothing to say', () => {
    const indicator = indicatorOf(record({ itype: null, tags: [] }));
    expect(indicator).not.toHaveProperty('labels');
  });
});

describe('convertRecord: description', () => {
  it('combines description, detail and source, one per line', () => {
    const indicator = indicatorOf(
      record({
        description: ' Seen in a phishing wave ',
        meta: { detail: 'phish-target,victim' },
        source: 'Analyst',
      }),
    );
    expect(indicator.description).toBe(
      'Seen in a phishing wave\nDetail: phish-target,victim\nSource: Analyst',
    );
  });

  it('omits the description when every part is blank', () => {
    const indicator = indicatorOf(
      record({ description: '  ', meta: { detail: '' }, source: null }),
    );
    expect(indicator).not.toHaveProperty('description');
  });
});

describe('convertRecord: indicator types', () => {
  it.each<[string | null, string | null, string[]]>([
    ['c2_ip', 'c2', ['malicious-activity']],
    ['mal_domain', 'malware', ['malicious-activity']],
    ['malware_domain', null, ['malicious-activity']],
    ['phish_url', 'phish', ['malicious-activity']],
    ['bot_ip', 'bot', ['malicious-activity']],
    ['exploit_url', 'exploit', ['malicious-activity']],
    ['ransomware_hash', null, ['malicious-activity']],
    ['trojan_domain', 'trojan', ['malicious-activity']],
    ['infostealer_ip', null, ['malicious-activity']],
    ['downloader_hash', null, ['malicious-activity']],
    ['exfil_url', 'exfil', ['malicious-activity']],
    ['fraud_email', 'fraud', ['malicious-activity']],
    ['spam_ip', 'spam', ['malicious-activity']],
    ['brute_ip', 'brute', ['malicious-activity']],
    ['scan_ip', 'scan', ['malicious-activity']],
    ['ddos_ip', null, ['malicious-activity']],
    ['p2pcnc', null, ['malicious-activity']],
    ['hack_tool_md5', null, ['malicious-activity']],
    ['rootkit_hash', null, ['malicious-activity']],
    ['pos_url', null, ['malicious-activity']],
    ['crypto_pool', null, ['malicious-activity']],
    ['adware_domain', 'adware', ['malicious-activity']],
    ['tor_ip', 'tor', ['anonymization']],
    ['i2p_ip', 'i2p', ['anonymization']],
    ['anon_proxy', 'anonymization', ['anonymization']],
    ['anon_vpn', null, ['anonymization']],
    ['proxy_ip', null, ['anonymization']],
    ['vpn_domain', null, ['anonymization']],
    ['compromised_domain', 'compromised', ['compromised']],
    ['ransomware_victim_domain', null, ['compromised']],
    ['phish_victim_email', null, ['compromised']],
    ['benign_ip', null, ['benign']],
    ['apt_md5', 'apt', ['attribution']],
    ['actor_ip', null, ['attribution']],
    ['suspicious_domain', 'suspicious', ['anomalous-activity']],
    ['parked_domain', 'parked', ['anomalous-activity']],
    ['new_domain', null, ['anomalous-activity']],
    ['dyn_dns', null, ['anomalous-activity']],
    ['sinkhole_ip', null, ['anomalous-activity']],
    ['whois_privacy_email', null, ['anomalous-activity']],
    ['apt_ip', 'c2', ['attribution', 'malicious-activity']],
    [null, 'c2', ['malicious-activity']],
    ['vps_ip', null, ['unknown']],
    ['geolocation_url', 'geolocation', ['unknown']],
    [null, null, ['unknown']],
    ['constructor', '__proto__', ['unknown']],
    ['tostring_ip', 'hasownproperty', ['unknown']],
    ['C2_IP', null, ['malicious-activity']],
  ])('maps itype %j with threat_type %j to %j', (itype, threatType, indicatorTypes) => {
    expect(indicatorOf(record({ itype, threat_type: threatType })).indicator_types).toEqual(
      indicatorTypes,
    );
  });
});
