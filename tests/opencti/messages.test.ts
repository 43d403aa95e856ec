import { describe, expect, it } from '@jest/globals';
import { splitBundle, workerMessageBodies } from '../../src/opencti/messages';
import { authorIdentity } from '../../src/stix/author';
import { buildBundles } from '../../src/stix/batches';
import { convertRecord } from '../../src/stix/convert';
import { TLP_MARKING_IDS } from '../../src/stix/markings';
import type { Indicator } from '../../src/stix/types';
import { parseRecords } from '../../src/threatstream/schema';
import { decodeWorkerMessage as decode } from '../support/rabbitmq';

const author = authorIdentity('Anomali ThreatStream');

function indicator(value: string, tlp: string | null): Indicator {
  const { records } = parseRecords([
    {
      id: 1,
      update_id: 2,
      value,
      type: 'domain',
      status: 'active',
      tlp,
      created_ts: '2026-01-01T00:00:00.000Z',
      modified_ts: '2026-01-02T00:00:00.000Z',
    },
  ]);
  const result = convertRecord(records[0]!, {
    author,
    defaultTlp: 'amber',
    createObservables: true,
    uiUrl: 'https://ui.threatstream.com',
  });
  if (!result.ok) throw new Error(result.detail);
  return result.indicator;
}

describe('worker messages', () => {
  const [bundle] = buildBundles(
    [indicator('a.example', 'green'), indicator('b.example', null)],
    author,
    () => 'bundle--0d4d4f1c-1a9f-4a38-9a4e-3c1f5e2b7a10',
  );

  it('puts author and markings before the indicators that reference them', () => {
    const split = splitBundle(bundle!);
    expect(split.map((s) => [s.objects[0].type, s.x_opencti_seq])).toEqual([
      ['identity', 1],
      ['marking-definition', 1],
      ['marking-definition', 1],
      ['indicator', 3],
      ['indicator', 3],
    ]);
    for (const piece of split) {
      expect(piece).toMatchObject({ type: 'bundle', id: bundle!.id, spec_version: '2.1' });
      expect(piece.objects).toHaveLength(1);
    }
  });

  it('builds exactly the envelope pycti publishes, one message per object', () => {
    const bodies = workerMessageBodies(bundle!, { applicantId: 'user-1', workId: 'work_1' });
    expect(bodies).toHaveLength(5);
    bodies.forEach((body, index) => {
      const { message, bundle: inner } = decode(body);
      expect(Object.keys(message).sort()).toEqual(
        [
          'action_sequence',
          'applicant_id',
          'bundle_type',
          'content',
          'draft_id',
          'entities_types',
          'update',
          'work_id',
        ].sort(),
      );
      expect(message).toMatchObject({
        bundle_type: 'QUEUE_BUNDLE',
        applicant_id: 'user-1',
        action_sequence: index + 1,
        entities_types: [],
        update: false,
        draft_id: null,
        work_id: 'work_1',
      });
      expect(inner).toEqual(splitBundle(bundle!)[index]);
    });
    const markings = bodies.map((b) => decode(b).bundle.objects[0].id);
    expect(markings).toContain(TLP_MARKING_IDS.green);
    expect(markings).toContain(TLP_MARKING_IDS.amber);
  });

  it('leaves out work_id when there is no work, as pycti does', () => {
    const { message } = decode(
      workerMessageBodies(bundle!, { applicantId: null, workId: null })[0]!,
    );
    expect('work_id' in message).toBe(false);
    expect(message.applicant_id).toBeNull();
  });

  it('keeps non-ASCII text intact through base64', () => {
    const [b] = buildBundles([indicator('bücher.de', null)], author);
    const bodies = workerMessageBodies(b!, { applicantId: null, workId: null });
    const [inner] = decode(bodies.at(-1)!).bundle.objects;
    expect(inner).toMatchObject({ pattern: "[domain-name:value = 'bücher.de']" });
  });
});
