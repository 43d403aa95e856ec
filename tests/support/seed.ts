import { randomInt } from 'node:crypto';

/** A seed for a test's random choices, printed on every run; TEST_SEED=<seed> replays them. */
export function testSeed(what: string): number {
  const given = process.env.TEST_SEED;
  const seed = given === undefined ? randomInt(2 ** 31) : Number(given);
  if (!Number.isSafeInteger(seed)) throw new Error(`TEST_SEED must be an integer, not ${given}`);
  console.log(`${what} drawn from seed ${seed}; replay them with TEST_SEED=${seed}`);
  return seed;
}
