/**
 * Finds the settings a user wrote that the connector does not know, typos first among them
 * (`apikey` for `api_key`), and the known name each one most likely meant.
 */

/** The prefixes of the connector's environment variables. */
const OUR_PREFIXES = ['OPENCTI_', 'CONNECTOR_', 'MQ_', 'ANOMALI_'];

/**
 * Variables with our prefixes that are not ours: the config file's path, and what a `.env`
 * shared with the OpenCTI stack holds for the platform and for other connectors.
 */
const NOT_OURS = [
  /^CONNECTOR_CONFIG_FILE$/,
  /^CONNECTOR_\w+_ID$/,
  /^OPENCTI_(ADMIN_\w+|BASE_URL|ENCRYPTION_KEY|HEALTHCHECK_ACCESS_KEY|HOST|PORT|VERSION|NETWORK)$/,
];

/** Levenshtein distance: the fewest single-character edits from one name to the other. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known name nearest to `name`, when it is near enough to be what the user meant. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) {
      best = { name: candidate, distance };
    }
  }
  return best?.name;
}

/** `label` names the setting as the user wrote it, `name` is what is compared with `known`. */
function unknown(name: string, known: readonly string[], label = name): string {
  const guess = closestName(name, known);
  return guess === undefined
    ? `${label} is unknown`
    : `${label} is unknown (did you mean ${guess}?)`;
}

/** One line per section or key of the YAML document that the schema does not have. */
export function unknownYamlKeys(
  yaml: Record<string, unknown>,
  knownKeys: readonly (readonly [string, string])[],
): string[] {
  const sections = [...new Set(knownKeys.map(([section]) => section))];
  const problems: string[] = [];
  for (const [section, values] of Object.entries(yaml)) {
    if (!sections.includes(section)) {
      problems.push(unknown(section, sections));
      continue;
    }
    if (values === null || typeof values !== 'object') continue;
    const keys = knownKeys.filter(([s]) => s === section).map(([, key]) => key);
    for (const key of Object.keys(values).filter((k) => !keys.includes(k))) {
      problems.push(unknown(key, keys, `${section}.${key}`));
    }
  }
  return problems;
}

/** One line per variable with one of our prefixes that is not a setting. */
export function unknownEnvNames(env: NodeJS.ProcessEnv, knownNames: readonly string[]): string[] {
  return Object.keys(env)
    .filter((name) => OUR_PREFIXES.some((prefix) => name.startsWith(prefix)))
    .filter((name) => !knownNames.includes(name) && !NOT_OURS.some((re) => re.test(name)))
    .sort()
    .map((name) => unknown(name, knownNames));
}
