import { MODEL_TYPES } from '../../src/model-types';

/**
 * The threat models of the ThreatStream simulator: bulletins, actors, campaigns, malware,
 * vulnerabilities, attack patterns, TTPs, intrusion sets, tools and incidents, with drafts and a
 * signature among them, associated with each other and with records of the IOC feed. Everything
 * is a pure function of the options, so a test can compute what an import must deliver.
 */

/** The types the connector imports, and a signature, which ThreatStream has and it leaves out. */
export const SIMULATED_MODEL_TYPES = [...MODEL_TYPES, 'signature'] as const;
export type SimulatedModelType = (typeof SIMULATED_MODEL_TYPES)[number];

export interface ModelCatalogOptions {
  /** Models of each type (signatures: 1); default 3. */
  perType?: number;
  /** Feed records each model links to (bulletins twice as many); default 6. */
  iocsPerModel?: number;
  /** Adds one bulletin linked to the first this-many records of the feed. */
  largeBulletinIocs?: number;
  /** Where linked IOCs are drawn from: record indices below this. */
  feedTotal: number;
  /** modified_ts of the first model; the others follow a minute apart. */
  startTime: Date;
  seed?: number;
}

export interface SimulatedModel {
  type: SimulatedModelType;
  id: number;
  name: string;
  published: boolean;
  createdMs: number;
  modifiedMs: number;
  tlp: string | null;
  /** Feed record indices linked to the model. */
  iocs: { from: number; count: number } | number[];
}

const NAMES: Record<SimulatedModelType, readonly string[]> = {
  tipreport: [
    'PaleLoader resurfaces in invoice-themed phishing',
    'Exchange servers under siege from at least 10 APT groups',
    'Weekly threat briefing',
    'Edge devices exploited for initial access',
  ],
  actor: ['Ember Lynx', 'Copper Heron', 'Silent Marten', 'Glass Wolf'],
  campaign: ['Operation Ghost Ledger', 'Operation Paper Lantern', 'Operation Salt Marsh'],
  malware: ['PaleLoader', 'Emotet', 'QakBot', 'NightDrifter'],
  vulnerability: ['CVE-2024-3400', 'CVE-2021-26855', 'CVE-2023-4966', 'CVE-2024-21887'],
  attackpattern: [
    'Spearphishing Attachment',
    'Spearphishing Link',
    'Valid Accounts',
    'Exploit Public-Facing Application',
  ],
  ttp: ['T1059.001 PowerShell', 'T1486 Data Encrypted for Impact', 'Credential dumping from LSASS'],
  intrusionset: ['APT28', 'FIN7', 'Lazarus Group'],
  tool: ['Mimikatz', 'BloodHound', 'PsExec', 'AdFind'],
  incident: [
    'Ransomware at branch office',
    'Phishing wave against finance',
    'Credential theft at the help desk',
  ],
  signature: ['PaleLoader_Dropper_Strings'],
};

/** ATT&CK ids of the attack patterns that cite one (the others have none). */
export const ATTACK_PATTERN_IDS: Readonly<Record<string, string>> = {
  'Spearphishing Attachment': 'T1566.001',
  'Spearphishing Link': 'T1566.002',
  'Exploit Public-Facing Application': 'T1190',
};

const TLPS = ['amber', 'green', 'clear', 'amber+strict', 'red', 'white', null];
const FIRST_MODEL_ID = 3000;
const MODEL_INTERVAL_MS = 60_000;
/** Every seventh model is a draft, which only its own organisation sees. */
const DRAFT_EVERY = 7;

/** splitmix-style numbers from (seed, a, b): the same catalog for the same options. */
function roll(seed: number, a: number, b: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(a + 1, 0xc2b2ae35) ^ (b + 7);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function nameOf(type: SimulatedModelType, n: number): string {
  const names = NAMES[type];
  const base = names[n % names.length]!;
  const round = Math.floor(n / names.length);
  return round === 0 ? base : `${base} ${round + 1}`;
}

/** The models, in id order; two of them share a modified_ts, as ThreatStream's seconds can. */
export function buildCatalog(options: ModelCatalogOptions): SimulatedModel[] {
  const seed = options.seed ?? 1;
  const perType = options.perType ?? 3;
  const models: SimulatedModel[] = [];
  for (const type of SIMULATED_MODEL_TYPES) {
    const count = type === 'signature' ? 1 : perType;
    for (let n = 0; n < count; n++) models.push(modelAt(models.length, type, n, options, seed));
  }
  if (options.largeBulletinIocs !== undefined) {
    const large = modelAt(models.length, 'tipreport', perType, options, seed);
    models.push({ ...large, published: true, iocs: { from: 0, count: options.largeBulletinIocs } });
  }
  const [first, second] = [models[1], models[2]];
  if (first && second) second.modifiedMs = first.modifiedMs;
  return models;
}

function modelAt(
  index: number,
  type: SimulatedModelType,
  n: number,
  options: ModelCatalogOptions,
  seed: number,
): SimulatedModel {
  const modifiedMs = options.startTime.getTime() + index * MODEL_INTERVAL_MS;
  const linked = (options.iocsPerModel ?? 6) * (type === 'tipreport' ? 2 : 1);
  const iocs = Array.from({ length: linked }, (_, k) => roll(seed, index, k) % options.feedTotal);
  return {
    type,
    id: FIRST_MODEL_ID + index,
    name: nameOf(type, n),
    published: index % DRAFT_EVERY !== DRAFT_EVERY - 1,
    createdMs: modifiedMs - (roll(seed, index, -1) % 90) * 86_400_000,
    modifiedMs,
    tlp: TLPS[roll(seed, index, -2) % TLPS.length] ?? null,
    iocs: [...new Set(iocs)],
  };
}

/**
 * Which models are associated: each model with one or two of three other types, drawn from the
 * seed; bulletins with one of every type. A pair is listed from either side, as on ThreatStream.
 */
export function buildAssociations(models: readonly SimulatedModel[], seed = 1): Set<string> {
  const pairs = new Set<string>();
  const byType = (type: SimulatedModelType) => models.filter((m) => m.type === type);
  for (const model of models) {
    const others = SIMULATED_MODEL_TYPES.filter((t) => t !== model.type);
    const picked =
      model.type === 'tipreport'
        ? others
        : others.filter((_, k) => roll(seed, model.id, k) % 3 === 0);
    for (const type of picked) {
      const candidates = byType(type);
      if (candidates.length === 0) continue;
      const other = candidates[roll(seed, model.id, type.length) % candidates.length]!;
      pairs.add(pairKey(model, other));
      pairs.add(pairKey(other, model));
    }
  }
  return pairs;
}

export function pairKey(a: SimulatedModel, b: SimulatedModel): string {
  return `${a.type}:${a.id}>${b.type}:${b.id}`;
}

/** The feed record indices linked to a model, in order. */
export function linkedIndices(model: SimulatedModel): number[] {
  const { iocs } = model;
  return Array.isArray(iocs) ? iocs : Array.from({ length: iocs.count }, (_, k) => iocs.from + k);
}

export function linkedCount(model: SimulatedModel): number {
  return Array.isArray(model.iocs) ? model.iocs.length : model.iocs.count;
}
