import { describe, expect, it } from '@jest/globals';
import fixture from '../fixtures/threatstream-samples.json';
import fc from 'fast-check';
import {
  splitBundle,
  workerMessageBodies,
  type MessageContext,
  type WorkerMessage,
} from '../../src/opencti/messages';
import { authorIdentity } from '../../src/stix/author';
import { buildBundles } from '../../src/stix/batches';
import { convertRecord } from '../../src/stix/convert';
import type { Bundle, Indicator } from '../../src/stix/types';
import { parseRecords } from '../../src/threatstream/schema';
import { recordAt } from '../../stand-ins/threatstream/simulator';
import { decodeWorkerMessage } from '../support/rabbitmq';

/**
 * The exact bytes the OpenCTI worker receives: what pycti's JSON.dumps writes for the message and
 * its one-object bundle, members in pycti's order, no whitespace, standard padded base64.
 */

const BUNDLE_ID = 'bundle--6f1e0f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
const IDENTITY_ID = 'identity--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
/** Quotes, a backslash, a tab, U+2028, a lone surrogate and characters of 2, 3 and 4 UTF-8 bytes. */
const AWKWARD_TEXT = 'é "quoted" \\ tab\t \u2028 \ud800 € 😀';

const indicator: Indicator = {
  type: 'indicator',
  spec_version: '2.1',
  id: 'indicator--5d8f3c1e-2b4a-4c6d-9e8f-7a6b5c4d3e2f',
  created: '2026-01-01T00:00:00.000Z',
  modified: '2026-01-02T00:00:00.000Z',
  created_by_ref: IDENTITY_ID,
  name: 'bücher.de',
  description: AWKWARD_TEXT,
  indicator_types: ['malicious-activity'],
  pattern: "[domain-name:value = 'bücher.de']",
  pattern_type: 'stix',
  pattern_version: '2.1',
  valid_from: '2026-01-01T00:00:00.000Z',
  revoked: false,
  external_references: [
    { source_name: 'ThreatStream', external_id: '1', url: 'https://ui.threatstream.com/1' },
  ],
  object_marking_refs: [GREEN],
  x_opencti_score: 80,
  x_opencti_detection: true,
  x_opencti_main_observable_type: 'Domain-Name',
  x_opencti_create_observables: true,
};

/** The indicator first: publishing moves what it references ahead of it. */
const goldenBundle: Bundle = {
  type: 'bundle',
  id: BUNDLE_ID,
  spec_version: '2.1',
  objects: [
    indicator,
    {
      type: 'identity',
      spec_version: '2.1',
      id: IDENTITY_ID,
      created: '2026-01-01T00:00:00.000Z',
      modified: '2026-01-01T00:00:00.000Z',
      name: 'Anomali ThreatStream',
      identity_class: 'organization',
    },
    {
      type: 'marking-definition',
      spec_version: '2.1',
      id: GREEN,
      created: '2017-01-20T00:00:00.000Z',
      definition_type: 'tlp',
      name: 'TLP:GREEN',
      definition: { tlp: 'green' },
    },
  ],
};

const IDENTITY_SPLIT =
  `{"type":"bundle","id":"${BUNDLE_ID}","spec_version":"2.1","x_opencti_seq":1,"objects":[` +
  `{"type":"identity","spec_version":"2.1","id":"${IDENTITY_ID}",` +
  '"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z",' +
  '"name":"Anomali ThreatStream","identity_class":"organization"}]}';

const MARKING_SPLIT =
  `{"type":"bundle","id":"${BUNDLE_ID}","spec_version":"2.1","x_opencti_seq":1,"objects":[` +
  `{"type":"marking-definition","spec_version":"2.1","id":"${GREEN}",` +
  '"created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN",' +
  '"definition":{"tlp":"green"}}]}';

/** JSON escapes quotes, backslashes, control characters and lone surrogates, nothing else. */
const INDICATOR_SPLIT =
  `{"type":"bundle","id":"${BUNDLE_ID}","spec_version":"2.1","x_opencti_seq":3,"objects":[` +
  `{"type":"indicator","spec_version":"2.1","id":"${indicator.id}",` +
  '"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-02T00:00:00.000Z",' +
  `"created_by_ref":"${IDENTITY_ID}","name":"bücher.de",` +
  '"description":"é \\"quoted\\" \\\\ tab\\t \u2028 \\ud800 € 😀",' +
  '"indicator_types":["malicious-activity"],' +
  '"pattern":"[domain-name:value = \'bücher.de\']","pattern_type":"stix","pattern_version":"2.1",' +
  '"valid_from":"2026-01-01T00:00:00.000Z","revoked":false,"external_references":' +
  '[{"source_name":"ThreatStream","external_id":"1","url":"https://ui.threatstream.com/1"}],' +
  `"object_marking_refs":["${GREEN}"],"x_opencti_score":80,"x_opencti_detection":true,` +
  '"x_opencti_main_observable_type":"Domain-Name","x_opencti_create_observables":true}]}';

/** The standard base64 of IDENTITY_SPLIT's UTF-8, padding included. */
const IDENTITY_CONTENT =
  'eyJ0eXBlIjoiYnVuZGxlIiwiaWQiOiJidW5kbGUtLTZmMWUwZjJhLTNjNGQtNGU1Zi04YTliLTBjMWQyZTNmNGE1YiIs' +
  'InNwZWNfdmVyc2lvbiI6IjIuMSIsInhfb3BlbmN0aV9zZXEiOjEsIm9iamVjdHMiOlt7InR5cGUiOiJpZGVudGl0eSIs' +
  'InNwZWNfdmVyc2lvbiI6IjIuMSIsImlkIjoiaWRlbnRpdHktLTBhMWIyYzNkLTRlNWYtNGE2Yi04YzdkLTllMGYxYTJi' +
  'M2M0ZCIsImNyZWF0ZWQiOiIyMDI2LTAxLTAxVDAwOjAwOjAwLjAwMFoiLCJtb2RpZmllZCI6IjIwMjYtMDEtMDFUMDA6' +
  'MDA6MDAuMDAwWiIsIm5hbWUiOiJBbm9tYWxpIFRocmVhdFN0cmVhbSIsImlkZW50aXR5X2NsYXNzIjoib3JnYW5pemF0' +
  'aW9uIn1dfQ==';

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('worker message bytes', () => {
  it('are the golden bodies for a known bundle, with a work', () => {
    const bodies = workerMessageBodies(goldenBundle, { applicantId: 'user-1', workId: 'work_1' });
    const expected = [IDENTITY_SPLIT, MARKING_SPLIT, INDICATOR_SPLIT].map(
      (split, index) =>
        `{"bundle_type":"QUEUE_BUNDLE","applicant_id":"user-1","action_sequence":${index + 1},` +
        `"entities_types":[],"content":"${base64(split)}","update":false,"draft_id":null,` +
        '"work_id":"work_1"}',
    );
    expect(bodies.map((body) => body.toString('utf8'))).toEqual(expected);
    expect(bodies[0]!.toString('utf8')).toContain(`"content":"${IDENTITY_CONTENT}"`);
    // UTF-8 throughout: the envelope is ASCII, the non-ASCII text travels inside the base64.
    expect(bodies.every((body) => body.length === body.toString('utf8').length)).toBe(true);
    expect(Buffer.from(decodeWorkerMessage(bodies[2]!).message.content, 'base64')).toEqual(
      Buffer.from(INDICATOR_SPLIT, 'utf8'),
    );
  });

  it('write a null applicant and leave work_id out when there is no work', () => {
    const [body] = workerMessageBodies(goldenBundle, { applicantId: null, workId: null });
    expect(body!.toString('utf8')).toBe(
      '{"bundle_type":"QUEUE_BUNDLE","applicant_id":null,"action_sequence":1,' +
        `"entities_types":[],"content":"${IDENTITY_CONTENT}","update":false,"draft_id":null}`,
    );
  });

  it('are JSON.stringify of the typed message, whatever the applicant and the work hold', () => {
    const [split] = splitBundle(goldenBundle);
    const id = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('"content":"-"', '-', '"'));
    fc.assert(
      fc.property(fc.option(id), fc.option(id), (applicantId, workId) => {
        const [body] = workerMessageBodies(goldenBundle, { applicantId, workId });
        const message: WorkerMessage = {
          bundle_type: 'QUEUE_BUNDLE',
          applicant_id: applicantId,
          action_sequence: 1,
          entities_types: [],
          content: Buffer.from(JSON.stringify(split)).toString('base64'),
          update: false,
          draft_id: null,
          ...(workId !== null && { work_id: workId }),
        };
        expect(body!.toString('utf8')).toBe(JSON.stringify(message));
      }),
      { seed: 1, numRuns: 2_000 },
    );
  });

  it('escape awkward text in the applicant and the work as JSON does', () => {
    const [body] = workerMessageBodies(goldenBundle, {
      applicantId: AWKWARD_TEXT,
      workId: AWKWARD_TEXT,
    });
    const escaped = 'é \\"quoted\\" \\\\ tab\\t \u2028 \\ud800 € 😀';
    expect(body!.toString('utf8')).toBe(
      `{"bundle_type":"QUEUE_BUNDLE","applicant_id":"${escaped}","action_sequence":1,` +
        `"entities_types":[],"content":"${IDENTITY_CONTENT}","update":false,"draft_id":null,` +
        `"work_id":"${escaped}"}`,
    );
  });
});

describe('worker messages of converted records', () => {
  const author = authorIdentity('Anomali ThreatStream');

  function convertedBundles(): Bundle[] {
    const raws = [
      ...fixture.samples.map((entry) => entry.object),
      ...Array.from({ length: 3000 }, (_, index) => recordAt(index)),
      { ...recordAt(1), value: 'bücher-ü.de', type: 'domain', description: AWKWARD_TEXT },
      { ...recordAt(2), tags: [{ name: '😀 emoji' }, { name: 'tab\there' }] },
      { ...recordAt(3), description: `${'ü'.repeat(4_000)}😀${'x'.repeat(3_000)}` },
    ];
    const indicators: Indicator[] = [];
    for (const record of parseRecords(raws).records) {
      const result = convertRecord(record, {
        author,
        defaultTlp: 'amber',
        createObservables: true,
        uiUrl: 'https://ui.threatstream.com',
      });
      if (result.ok) indicators.push(result.indicator);
    }
    // Over 100 KB of UTF-8: more than conversion lets a record carry, so set by hand.
    const [first] = indicators;
    if (first) first.description = `${'ü'.repeat(40_000)}😀${'x'.repeat(30_000)}`;
    return buildBundles(indicators, author);
  }

  const contexts: MessageContext[] = [
    { applicantId: '88ec0c6a-13ce-5e39-b486-354fe4a7084f', workId: 'work_1_2026-01-01' },
    { applicantId: null, workId: null },
    { applicantId: 'ü "user" \\', workId: 'work \u2028 é' },
  ];

  it('decode to their split bundles, in compact JSON and canonical base64', () => {
    const bundles = convertedBundles();
    expect(bundles.length).toBeGreaterThan(4);
    const utf8Bytes = (object: unknown) => Buffer.byteLength(JSON.stringify(object));
    expect(bundles.some((b) => b.objects.some((o) => utf8Bytes(o) > 100_000))).toBe(true);
    for (const bundle of bundles) {
      const splits = splitBundle(bundle);
      for (const context of contexts) {
        const bodies = workerMessageBodies(bundle, context);
        expect(bodies).toHaveLength(splits.length);
        bodies.forEach((body, index) => {
          const { message, bundle: decoded } = decodeWorkerMessage(body);
          expect(body.toString('utf8')).toBe(JSON.stringify(message));
          const split = JSON.stringify(decoded);
          expect(base64(split)).toBe(message.content);
          expect(split).toBe(JSON.stringify(splits[index]));
          expect(message.action_sequence).toBe(index + 1);
          expect(message.applicant_id).toBe(context.applicantId);
          expect(message.work_id).toBe(context.workId ?? undefined);
        });
      }
    }
  });
});
