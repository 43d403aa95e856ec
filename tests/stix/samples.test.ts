import { describe, expect, it } from '@jest/globals';
import { TLP_MARKING_IDS } from '../../src/stix/markings';
import { parseRecords, type IntelligenceRecord } from '../../src/threatstream/schema';
import fixture from '../fixtures/threatstream-samples.json';
import { OPTIONS, converted } from './records';

/** Real ThreatStream objects, read the way the client reads them. */
function sample(id: string): IntelligenceRecord {
  const { records, rejected } = parseRecords(fixture.samples.map((entry) => entry.object));
  expect(rejected).toEqual([]);
  const found = records.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no sample ${id}`);
  return found;
}

describe('conversion of real ThreatStream records', () => {
  it('reads all six samples', () => {
    expect(parseRecords(fixture.samples.map((entry) => entry.object)).records).toHaveLength(6);
  });

  it('revokes the deactivated c2 IP at its deactivation time', () => {
    const { indicator, revoked } = converted(sample('239450636'));
    expect(revoked).toBe(true);
    expect(indicator).toMatchObject({
      id: 'indicator--7afcad77-690a-5007-ab2b-6c2c73eed3e0',
      pattern: "[ipv4-addr:value = '78.78.78.67']",
      name: '78.78.78.67',
      x_opencti_main_observable_type: 'IPv4-Addr',
      x_opencti_score: 100,
      revoked: true,
      x_opencti_detection: false,
      created: '2021-05-24T16:42:25.457Z',
      valid_from: '2021-05-24T16:42:25.457Z',
      modified: '2021-08-22T16:50:01.032Z',
      valid_until: '2021-08-22T16:50:01.032Z',
      labels: ['test', 'c2_ip'],
      indicator_types: ['malicious-activity'],
      description: 'Source: Analyst',
      object_marking_refs: [TLP_MARKING_IDS[OPTIONS.defaultTlp]],
      external_references: [
        {
          source_name: 'Anomali ThreatStream',
          external_id: '239450636',
          url: 'https://ui.threatstream.com/detail/ip/78.78.78.67',
        },
      ],
    });
  });

  it('keeps the never-expiring AMBER domain open-ended', () => {
    const { indicator, revoked } = converted(sample('231017344'));
    expect(revoked).toBe(false);
    expect(indicator).toMatchObject({
      id: 'indicator--121f8c43-90fa-577d-97aa-df69089f75e9',
      pattern: "[domain-name:value = 'y.gp']",
      x_opencti_main_observable_type: 'Domain-Name',
      x_opencti_score: 50,
      x_opencti_detection: true,
      labels: ['mal_domain'],
      indicator_types: ['malicious-activity'],
      object_marking_refs: [TLP_MARKING_IDS.amber],
    });
    expect(indicator).not.toHaveProperty('valid_until');
  });

  it('maps the c2 URL, ignoring its 2318 expiry', () => {
    const { indicator, revoked } = converted(sample('184992550'));
    expect(revoked).toBe(false);
    expect(indicator).toMatchObject({
      id: 'indicator--46c0b232-0563-5a45-afcd-6a2638bb3df3',
      pattern: "[url:value = 'http://89.160.20.149/']",
      x_opencti_main_observable_type: 'Url',
      x_opencti_score: 100,
      labels: ['object-type:c2_url', 'c2_url'],
      description: 'Source: Default Organization',
      object_marking_refs: [TLP_MARKING_IDS[OPTIONS.defaultTlp]],
      external_references: [
        {
          source_name: 'Anomali ThreatStream',
          external_id: '184992550',
          url: 'https://ui.threatstream.com/detail/url/http%3A%2F%2F89.160.20.149%2F',
        },
      ],
    });
    expect(indicator).not.toHaveProperty('valid_until');
  });

  it('maps the phishing email address', () => {
    const { indicator } = converted(sample('184987648'));
    expect(indicator).toMatchObject({
      id: 'indicator--4284153a-ffaf-54a5-ac55-4445381f43a6',
      pattern: "[email-addr:value = 'ranjit.tiwari@aaranya.com']",
      x_opencti_main_observable_type: 'Email-Addr',
      x_opencti_score: 75,
      revoked: false,
      labels: ['phish_email'],
      indicator_types: ['malicious-activity'],
    });
    expect(indicator).not.toHaveProperty('valid_until');
  });

  it('reads the SHA-256 from its subtype although ThreatStream types it md5', () => {
    const { indicator, revoked } = converted(sample('191431508'));
    expect(revoked).toBe(false);
    expect(indicator).toMatchObject({
      id: 'indicator--0ff19b54-273c-53de-b1d5-9fd1e887ab1c',
      pattern:
        "[file:hashes.'SHA-256' = '178ba564b39bd07577e974a9b677dfd86ffa1f1d0299dfd958eb883c5ef6c3e1']",
      x_opencti_main_observable_type: 'StixFile',
      x_opencti_score: 50,
      labels: ['phish-target', 'victim-hi-tech', 'apt_md5'],
      indicator_types: ['attribution'],
      description: 'Detail: phish-target,victim-hi-tech\nSource: Demisto',
      external_references: [
        {
          source_name: 'Anomali ThreatStream',
          external_id: '191431508',
          url: 'https://ui.threatstream.com/detail/hash/178ba564b39bd07577e974a9b677dfd86ffa1f1d0299dfd958eb883c5ef6c3e1',
        },
      ],
    });
    // Its expiration_ts (2017) predates its creation (2020): no usable expiry.
    expect(indicator).not.toHaveProperty('valid_until');
  });

  it('maps the ssdeep string to a file hash', () => {
    const { indicator } = converted(sample('184982705'));
    expect(indicator).toMatchObject({
      id: 'indicator--0a483e12-5962-5fee-82d7-e7fc76fadef5',
      pattern: "[file:hashes.SSDEEP = '384:MdPnITsHlTxk7ETVAyPyAtatgTkeI8rlHA9:MdAT05xk7HKQ8xm']",
      x_opencti_main_observable_type: 'StixFile',
      x_opencti_score: 100,
      labels: [
        '34445.gsrt_YaraSigMatch_Malware',
        '34445.gsrt_ysamuel_LISA_hit',
        '34445.IL_tbar_malicious_imphash',
        '34445.il_tm_use_wininet',
        'Unit42.Upatre',
        'mal_ssdeep',
      ],
      indicator_types: ['malicious-activity'],
    });
  });
});
