import { describe, expect, it } from '@jest/globals';
import { authorIdentity } from '../../src/stix/author';
import {
  TLP_LEVELS,
  TLP_MARKING_IDS,
  parseTlp,
  tlpMarking,
  type Tlp,
} from '../../src/stix/markings';
import { identitySchema, markingDefinitionSchema } from '../../src/stix/types';

describe('parseTlp', () => {
  it.each<[string, Tlp]>([
    ['clear', 'clear'],
    ['CLEAR', 'clear'],
    ['white', 'clear'],
    ['TLP:WHITE', 'clear'],
    ['green', 'green'],
    ['Green', 'green'],
    ['amber', 'amber'],
    ['TLP:AMBER', 'amber'],
    ['tlp: amber', 'amber'],
    ['amber+strict', 'amber+strict'],
    ['TLP:AMBER+STRICT', 'amber+strict'],
    [' red ', 'red'],
    ['TLP:RED', 'red'],
  ])('reads %j as %s', (text, tlp) => {
    expect(parseTlp(text)).toBe(tlp);
  });

  it.each([null, undefined, '', '   ', 'purple', 'amber strict', 'TLP:', 'tlp:tlp:red', 'amber+'])(
    'does not read %j',
    (text) => {
      expect(parseTlp(text)).toBeUndefined();
    },
  );
});

describe('tlpMarking', () => {
  it.each<[Tlp, string, string]>([
    ['clear', 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9', 'TLP:WHITE'],
    ['green', 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da', 'TLP:GREEN'],
    ['amber', 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82', 'TLP:AMBER'],
    [
      'amber+strict',
      'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37',
      'TLP:AMBER+STRICT',
    ],
    ['red', 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed', 'TLP:RED'],
  ])('gives %s the fixed OpenCTI id %s', (tlp, id, name) => {
    const marking = tlpMarking(tlp);
    expect(marking.id).toBe(id);
    expect(TLP_MARKING_IDS[tlp]).toBe(id);
    expect(marking.name).toBe(name);
    expect(markingDefinitionSchema.safeParse(marking).error?.issues).toBeUndefined();
  });

  it('sends the four TLP 1.0 levels as the STIX specification objects', () => {
    expect(tlpMarking('clear')).toEqual({
      type: 'marking-definition',
      spec_version: '2.1',
      id: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
      created: '2017-01-20T00:00:00.000Z',
      definition_type: 'tlp',
      name: 'TLP:WHITE',
      definition: { tlp: 'white' },
    });
    expect(tlpMarking('red')).toMatchObject({
      created: '2017-01-20T00:00:00.000Z',
      definition_type: 'tlp',
      definition: { tlp: 'red' },
    });
  });

  it('sends AMBER+STRICT as a statement carrying the OpenCTI TLP definition', () => {
    expect(tlpMarking('amber+strict')).toEqual({
      type: 'marking-definition',
      spec_version: '2.1',
      id: 'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37',
      created: '2022-10-01T00:00:00.000Z',
      definition_type: 'statement',
      name: 'TLP:AMBER+STRICT',
      definition: { statement: 'custom' },
      x_opencti_definition_type: 'TLP',
      x_opencti_definition: 'TLP:AMBER+STRICT',
    });
  });

  it('is byte-identical from call to call, whatever the clock says', () => {
    for (const tlp of TLP_LEVELS) {
      expect(JSON.stringify(tlpMarking(tlp))).toBe(JSON.stringify(tlpMarking(tlp)));
    }
  });

  it('hands out a fresh object each time, so callers cannot corrupt the next bundle', () => {
    const marking = tlpMarking('green');
    (marking as { name: string }).name = 'tampered';
    expect(tlpMarking('green').name).toBe('TLP:GREEN');
  });
});

describe('authorIdentity', () => {
  it('is the deterministic organization pycti would create', () => {
    const author = authorIdentity('Anomali ThreatStream');
    expect(author).toEqual({
      type: 'identity',
      spec_version: '2.1',
      id: 'identity--9425cc8e-8a15-50c9-963c-edd015e3df68',
      created: '2024-01-01T00:00:00.000Z',
      modified: '2024-01-01T00:00:00.000Z',
      name: 'Anomali ThreatStream',
      identity_class: 'organization',
    });
    expect(identitySchema.safeParse(author).error?.issues).toBeUndefined();
  });

  it('trims the display name; case and spacing do not change the id', () => {
    const author = authorIdentity('  Anomali  ');
    expect(author.name).toBe('Anomali');
    expect(author.id).toBe('identity--63b6193d-b28f-5e34-a552-bb37a3a0bfea');
    expect(authorIdentity('ANOMALI').id).toBe(author.id);
  });

  it('is byte-identical from call to call', () => {
    expect(JSON.stringify(authorIdentity('Anomali'))).toBe(
      JSON.stringify(authorIdentity('Anomali')),
    );
  });

  it('refuses a blank name', () => {
    expect(() => authorIdentity('   ')).toThrow(RangeError);
  });
});
