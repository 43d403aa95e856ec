const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const PAD = 0x3d; // '='

/** The length of the padded base64 text of `bytes` bytes. */
export const base64Length = (bytes: number): number => 4 * Math.ceil(bytes / 3);

/**
 * Writes the padded base64 of `source[0, length)` into `target` at `at`, and returns the offset
 * after it: what `toString('base64')` then a write would give, without the text in between.
 * The caller makes room for `base64Length(length)` bytes.
 */
export function writeBase64(source: Buffer, length: number, target: Buffer, at: number): number {
  const whole = length - (length % 3);
  let i = 0;
  for (; i < whole; i += 3) {
    const bits = (source[i]! << 16) | (source[i + 1]! << 8) | source[i + 2]!;
    target[at] = ALPHABET[bits >>> 18]!;
    target[at + 1] = ALPHABET[(bits >>> 12) & 63]!;
    target[at + 2] = ALPHABET[(bits >>> 6) & 63]!;
    target[at + 3] = ALPHABET[bits & 63]!;
    at += 4;
  }
  const rest = length - whole;
  if (rest > 0) {
    const bits = (source[i]! << 16) | (rest === 2 ? source[i + 1]! << 8 : 0);
    target[at] = ALPHABET[bits >>> 18]!;
    target[at + 1] = ALPHABET[(bits >>> 12) & 63]!;
    target[at + 2] = rest === 2 ? ALPHABET[(bits >>> 6) & 63]! : PAD;
    target[at + 3] = PAD;
    at += 4;
  }
  return at;
}
