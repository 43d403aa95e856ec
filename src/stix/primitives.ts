import { z } from 'zod';

/** The building blocks every STIX object schema of the connector shares. */

export type StixId<T extends string> = `${T}--${string}`;

/** `<type>--<uuid>`; parses to StixId<type>. */
export function stixIdSchema<T extends string>(type: T) {
  return z.templateLiteral([z.literal(`${type}--`), z.uuid()]);
}

/** RFC 3339 in UTC with milliseconds, e.g. `2021-05-24T16:42:25.457Z`. */
export const stixTimestampSchema = z.iso.datetime({ precision: 3 });
