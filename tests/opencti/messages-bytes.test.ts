import { describe, expect, it } from '@jest/globals';
import fixture from '../fixtures/threatstream-samples.json';
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

/**
 * Message bodies are written from templates for speed; these tests hold them to the bytes that
 * JSON.stringify of the WorkerMessage and its SplitBundle gives, which is what pycti sends.
 */

const author = authorIdentity('Anomali ThreatStream');

function bundles(): Bundle[] {
  const raws = [
    ...fixture.samples.map((entry) => entry.object),
    ...Array.from({ length: 3000 }, (_, index) => recordAt(index)),
    { ...recordAt(1), value: 'bücher-ü.de', type: 'domain', description: 'é "quoted" \\ \u2028' },
    { ...recordAt(2), tags: [{ name: '😀 emoji' }, { name: 'tab\there' }] },
    // Larger than the encoder's scratch buffer, in UTF-8 and in UTF-16 units.
    { ...recordAt(3), description: `${'ü'.repeat(40_000)}😀${'x'.repeat(30_000)}` },
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
  return buildBundles(indicators, author);
}

/** The body as JSON.stringify writes it. */
function referenceBodies(bundle: Bundle, context: MessageContext): Buffer[] {
  return splitBundle(bundle).map((split, index) => {
    const message: WorkerMessage = {
      bundle_type: 'QUEUE_BUNDLE',
      applicant_id: context.applicantId,
      action_sequence: index + 1,
      entities_types: [],
      content: Buffer.from(JSON.stringify(split), 'utf8').toString('base64'),
      update: false,
      draft_id: null,
    };
    if (context.workId !== null) message.work_id = context.workId;
    return Buffer.from(JSON.stringify(message), 'utf8');
  });
}

const contexts: MessageContext[] = [
  {
    applicantId: '88ec0c6a-13ce-5e39-b486-354fe4a7084f',
    workId: 'work_1_2026-01-01T00:00:00.000Z',
  },
  { applicantId: null, workId: null },
  { applicantId: 'ü "user" \\', workId: 'work \u2028 é' },
];

describe('worker message bodies', () => {
  it('are byte for byte what JSON.stringify writes', () => {
    const all = bundles();
    expect(all.length).toBeGreaterThan(4);
    const utf8Bytes = (object: unknown) => Buffer.byteLength(JSON.stringify(object));
    expect(all.some((bundle) => bundle.objects.some((o) => utf8Bytes(o) > 100_000))).toBe(true);
    for (const bundle of all) {
      for (const context of contexts) {
        const bodies = workerMessageBodies(bundle, context);
        const expected = referenceBodies(bundle, context);
        expect(bodies).toHaveLength(expected.length);
        bodies.forEach((body, index) => expect(body.equals(expected[index]!)).toBe(true));
      }
    }
  });
});
