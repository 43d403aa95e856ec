/** The ThreatStream threat-model types the connector imports; each is also its URL path segment. */
export const MODEL_TYPES = [
  'tipreport',
  'actor',
  'campaign',
  'malware',
  'vulnerability',
  'attackpattern',
  'ttp',
  'intrusionset',
  'tool',
  'incident',
] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/** What an `actor` becomes in OpenCTI. */
export const ACTOR_MAPPINGS = ['intrusion-set', 'threat-actor'] as const;
export type ActorMapping = (typeof ACTOR_MAPPINGS)[number];
