import { describe, expect, it } from '@jest/globals';
import { MAX_BATCH_INDICATORS, buildBundles } from '../../src/stix/batches';
import { TLP_MARKING_IDS, type Tlp } from '../../src/stix/markings';
import { bundleSchema, type Bundle, type Indicator } from '../../src/stix/types';
import { AUTHOR, OPTIONS, indicatorOf, record } from './records';

/** Distinct indicators: one IPv4 address each, 10.0.x.y. */
function indicators(count: number, tlp: Tlp = 'amber'): Indicator[] {
  return Array.from({ length: count }, (_, n) =>
    indicatorOf(
      record({ id: String(n + 1), value: `10.0.${Math.floor(n / 256)}.${n % 256}`, tlp }),
    ),
  );
}

function sequentialIds(): () => string {
  let n = 0;
  return () => `bundle--00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
}

function indicatorsIn(bundle: Bundle): Indicator[] {
  return bundle.objects.filter((object): object is Indicator => object.type === 'indicator');
}

function expectValidBundles(bundles: readonly Bundle[]): void {
  for (const bundle of bundles)
    expect(bundleSchema.safeParse(bundle).error?.issues).toBeUndefined();
}

describe('buildBundles', () => {
  it('holds at most 500 indicators per bundle', () => {
    expect(MAX_BATCH_INDICATORS).toBe(500);
  });

  it('yields no bundle for no indicators', () => {
    expect(buildBundles([], AUTHOR)).toEqual([]);
  });

  it.each([
    [1, [1]],
    [499, [499]],
    [500, [500]],
    [501, [500, 1]],
    [1000, [500, 500]],
    [1201, [500, 500, 201]],
  ])('splits %d indicators into bundles of %j', (count, sizes) => {
    const input = indicators(count);
    const bundles = buildBundles(input, AUTHOR, sequentialIds());
    expect(bundles.map((bundle) => indicatorsIn(bundle).length)).toEqual(sizes);
    expect(bundles.flatMap(indicatorsIn)).toEqual(input);
    expectValidBundles(bundles);
  });

  it('puts the author first, then the markings, then the indicators', () => {
    const [bundle] = buildBundles(indicators(3), AUTHOR, sequentialIds());
    expect(bundle?.objects.map((object) => object.type)).toEqual([
      'identity',
      'marking-definition',
      'indicator',
      'indicator',
      'indicator',
    ]);
    expect(bundle?.objects[0]).toEqual(AUTHOR);
  });

  it('carries author and markings in every bundle, since the platform drops references leaving a bundle', () => {
    const bundles = buildBundles(indicators(1001), AUTHOR, sequentialIds());
    expect(bundles).toHaveLength(3);
    for (const bundle of bundles) {
      expect(bundle.objects[0]).toEqual(AUTHOR);
      expect(bundle.objects[1]?.id).toBe(TLP_MARKING_IDS.amber);
    }
  });

  it('carries exactly the markings its own indicators reference, least restrictive first', () => {
    const mixed = [
      ...indicators(2, 'red'),
      indicatorOf(record({ value: '192.0.2.1', tlp: 'white' })),
      indicatorOf(record({ value: '192.0.2.2', tlp: 'amber+strict' })),
      indicatorOf(record({ value: '192.0.2.3', tlp: 'red' })),
    ];
    const [bundle] = buildBundles(mixed, AUTHOR);
    const markingIds = bundle?.objects
      .filter((object) => object.type === 'marking-definition')
      .map((object) => object.id);
    expect(markingIds).toEqual([
      TLP_MARKING_IDS.clear,
      TLP_MARKING_IDS['amber+strict'],
      TLP_MARKING_IDS.red,
    ]);
    expectValidBundles(bundle === undefined ? [] : [bundle]);
  });

  it('decides the markings of each bundle separately', () => {
    const input = [
      ...indicators(500, 'green'),
      indicatorOf(record({ value: '192.0.2.1', tlp: 'red' })),
    ];
    const [first, second] = buildBundles(input, AUTHOR);
    const markingsOf = (bundle: Bundle | undefined) =>
      bundle?.objects
        .filter((object) => object.type === 'marking-definition')
        .map((object) => object.id);
    expect(markingsOf(first)).toEqual([TLP_MARKING_IDS.green]);
    expect(markingsOf(second)).toEqual([TLP_MARKING_IDS.red]);
  });

  it('gives every bundle a fresh id by default', () => {
    const bundles = buildBundles(indicators(1001), AUTHOR);
    const ids = bundles.map((bundle) => bundle.id);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^bundle--[0-9a-f-]{36}$/);
    expectValidBundles(bundles);
  });

  it('uses the id source it is given, one id per bundle', () => {
    const bundles = buildBundles(indicators(501), AUTHOR, sequentialIds());
    expect(bundles.map((bundle) => bundle.id)).toEqual([
      'bundle--00000000-0000-4000-8000-000000000001',
      'bundle--00000000-0000-4000-8000-000000000002',
    ]);
  });

  it('refuses an id source that does not produce bundle ids', () => {
    expect(() => buildBundles(indicators(1), AUTHOR, () => 'indicator--x')).toThrow();
  });

  it('refuses indicators that reference a marking it cannot ship', () => {
    const foreign = {
      ...indicatorOf(record()),
      object_marking_refs: ['marking-definition--11111111-1111-4111-8111-111111111111' as const],
    };
    expect(() => buildBundles([foreign], AUTHOR)).toThrow(/marking-definition--11111111/);
  });

  it('marks every indicator with a marking present in its bundle, with the options author', () => {
    const bundles = buildBundles(indicators(700), OPTIONS.author);
    for (const bundle of bundles) {
      const present = new Set(bundle.objects.map((object) => object.id));
      for (const indicator of indicatorsIn(bundle)) {
        expect(present.has(indicator.created_by_ref)).toBe(true);
        for (const ref of indicator.object_marking_refs) expect(present.has(ref)).toBe(true);
      }
    }
  });
});
