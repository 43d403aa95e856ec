import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { base64Length, writeBase64 } from '../../src/opencti/base64';

describe('writeBase64', () => {
  it("writes what Buffer's base64 gives, for every length and padding", () => {
    for (let length = 0; length <= 300; length++) {
      const source = randomBytes(length + 5); // bytes past `length` must not be read
      const expected = source.subarray(0, length).toString('base64');
      expect(base64Length(length)).toBe(expected.length);
      const target = Buffer.alloc(expected.length + 4, '#');
      const end = writeBase64(source, length, target, 2);
      expect(end).toBe(2 + expected.length);
      expect(target.toString('latin1')).toBe(`##${expected}##`);
    }
  });

  it('encodes every byte value', () => {
    const source = Buffer.from(Array.from({ length: 256 * 3 }, (_, i) => (i * 7) % 256));
    const target = Buffer.alloc(base64Length(source.length));
    writeBase64(source, source.length, target, 0);
    expect(target.toString('latin1')).toBe(source.toString('base64'));
  });
});
