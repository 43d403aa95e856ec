import type { MarkingDefinition, StixId } from './types';

export type Tlp = 'clear' | 'green' | 'amber' | 'amber+strict' | 'red';

/** From least to most restrictive; also the order markings take inside a bundle. */
export const TLP_LEVELS: readonly Tlp[] = ['clear', 'green', 'amber', 'amber+strict', 'red'];

/** The ids OpenCTI gives its built-in TLP markings; the four TLP 1.0 ids are the STIX ones. */
export const TLP_MARKING_IDS: Readonly<Record<Tlp, StixId<'marking-definition'>>> = {
  clear: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  green: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  amber: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  'amber+strict': 'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37',
  red: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
};

/** The `created` date the STIX 2.1 specification fixes for its TLP markings. */
const STIX_TLP_CREATED = '2017-01-20T00:00:00.000Z';

/**
 * STIX defines no AMBER+STRICT object, so its `created` is ours to choose. It is a constant, not
 * the generation time, so the marking and every bundle carrying it are byte-identical from one
 * run to the next. The platform matches the marking by id, so the date only has to stay put; it
 * falls in 2022, when TLP 2.0 introduced AMBER+STRICT.
 */
const AMBER_STRICT_CREATED = '2022-10-01T00:00:00.000Z';

/**
 * Reads a TLP level written the ways ThreatStream and operators write it: any case, with or
 * without a `TLP:` prefix. TLP 1.0's WHITE is TLP 2.0's CLEAR.
 */
export function parseTlp(text: string | null | undefined): Tlp | undefined {
  if (text === null || text === undefined) return undefined;
  const level = text
    .trim()
    .toLowerCase()
    .replace(/^tlp\s*:\s*/, '');
  if (level === 'white') return 'clear';
  return TLP_LEVELS.find((tlp) => tlp === level);
}

export function tlpMarking(tlp: Tlp): MarkingDefinition {
  const common = {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP_MARKING_IDS[tlp],
  } as const;
  switch (tlp) {
    // CLEAR goes out as the STIX TLP:WHITE object, which the OpenCTI worker maps to TLP:CLEAR.
    case 'clear':
      return stixTlpMarking(common, 'white');
    case 'green':
    case 'amber':
    case 'red':
      return stixTlpMarking(common, tlp);
    case 'amber+strict':
      return {
        ...common,
        created: AMBER_STRICT_CREATED,
        definition_type: 'statement',
        name: 'TLP:AMBER+STRICT',
        definition: { statement: 'custom' },
        x_opencti_definition_type: 'TLP',
        x_opencti_definition: 'TLP:AMBER+STRICT',
      };
  }
}

function stixTlpMarking(
  common: Pick<MarkingDefinition, 'type' | 'spec_version' | 'id'>,
  color: 'white' | 'green' | 'amber' | 'red',
): MarkingDefinition {
  return {
    ...common,
    created: STIX_TLP_CREATED,
    definition_type: 'tlp',
    name: `TLP:${color.toUpperCase()}`,
    definition: { tlp: color },
  };
}
