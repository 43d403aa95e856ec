/**
 * The records of the ThreatStream simulator. Record i is a pure function of (seed, startTime, i),
 * so a feed of any size is never held in memory, and a test can compute what it should receive.
 *
 * Timeline: record i has update_id FIRST_UPDATE_ID + i * UPDATE_ID_STRIDE and modified_ts
 * startTime + i seconds. The stride leaves room for updates made between two records (the
 * simulator's `mutate`), which keep update_id and modified_ts in the same order.
 */

export const THREATSTREAM_TYPES = [
  'ip',
  'ipv6',
  'domain',
  'url',
  'email',
  'md5',
  'string',
] as const;
export type ThreatStreamType = (typeof THREATSTREAM_TYPES)[number];

export const DEFAULT_START_TIME = new Date('2025-01-01T00:00:00.000Z');
export const RECORD_INTERVAL_MS = 1000;
const FIRST_UPDATE_ID = 100_000_000;
export const UPDATE_ID_STRIDE = 1000;
const FIRST_ID = 200_000_000;

export interface FeedOptions {
  /** Default 1. */
  seed?: number;
  /** modified_ts of record 0. Keep startTime + total seconds before the client's stability bound. */
  startTime?: Date;
  /**
   * The share of records that are inactive or false positives, in whole percent: each record's
   * dice decide, so the feed holds about this share, of every type. Default 0.1.
   */
  nonActiveShare?: number;
}

export interface SimulatedTag {
  id: string;
  name: string;
}

export interface SimulatedRecord {
  id: number;
  update_id: number;
  uuid: string;
  value: string;
  type: ThreatStreamType;
  subtype: string | null;
  itype: string;
  threat_type: string;
  status: 'active' | 'inactive' | 'falsepos';
  confidence: number;
  source_reported_confidence: number;
  retina_confidence: number;
  threatscore: number;
  meta: { severity: string; detail2: string; maltype?: string };
  tags: SimulatedTag[] | null;
  tlp: string | null;
  is_public: boolean;
  is_anonymous: boolean;
  is_editable: boolean;
  can_add_public_tags: boolean;
  trusted_circle_ids: number[] | null;
  feed_id: number;
  owner_organization_id: number;
  import_session_id: number | null;
  source: string;
  source_created: string | null;
  source_modified: string | null;
  created_by: string | null;
  description: string | null;
  created_ts: string;
  modified_ts: string;
  expiration_ts: string;
  ip: string | null;
  rdns: string | null;
  asn: string;
  org: string;
  country: string | null;
  latitude: number | null;
  longitude: number | null;
  target_industry: string[];
  locations: unknown[];
  source_locations: unknown[];
  workgroups: unknown[];
  sort: number[];
  resource_uri: string;
}

/**
 * Which type record i has. A fixed cycle lets a query jump straight to the next record of a
 * type instead of scanning. Proportions: ip 25%, domain 20%, url 15%, md5 20%, string 10%,
 * email 5%, ipv6 5%.
 */
const TYPE_CYCLE: readonly ThreatStreamType[] = [
  'ip',
  'domain',
  'url',
  'md5',
  'ip',
  'string',
  'domain',
  'email',
  'md5',
  'ip',
  'url',
  'ipv6',
  'domain',
  'md5',
  'ip',
  'string',
  'url',
  'md5',
  'domain',
  'ip',
];

const SLOTS_OF_TYPE = new Map<ThreatStreamType, number[]>(
  THREATSTREAM_TYPES.map((type) => [
    type,
    TYPE_CYCLE.flatMap((slotType, slot) => (slotType === type ? [slot] : [])),
  ]),
);

export function typeAt(index: number): ThreatStreamType {
  return TYPE_CYCLE[index % TYPE_CYCLE.length]!;
}

/** The smallest index >= from whose record has the type. */
export function nextIndexOfType(type: ThreatStreamType, from: number): number {
  const slots = SLOTS_OF_TYPE.get(type)!;
  const cycleStart = from - (from % TYPE_CYCLE.length);
  const slot = slots.find((s) => cycleStart + s >= from);
  return slot === undefined ? cycleStart + TYPE_CYCLE.length + slots[0]! : cycleStart + slot;
}

/** How many records of the type lie in [from, to). */
export function countOfType(type: ThreatStreamType, from: number, to: number): number {
  const below = (end: number) => {
    const slots = SLOTS_OF_TYPE.get(type)!;
    const fullCycles = Math.floor(end / TYPE_CYCLE.length);
    const rest = end % TYPE_CYCLE.length;
    return fullCycles * slots.length + slots.filter((s) => s < rest).length;
  };
  return to <= from ? 0 : below(to) - below(from);
}

export function updateIdAt(index: number): number {
  return FIRST_UPDATE_ID + index * UPDATE_ID_STRIDE;
}

/** The smallest index whose update_id is above `updateId`. */
export function firstIndexAbove(updateId: bigint): number {
  if (updateId < BigInt(FIRST_UPDATE_ID)) return 0;
  const index = (updateId - BigInt(FIRST_UPDATE_ID)) / BigInt(UPDATE_ID_STRIDE) + 1n;
  return index > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(index);
}

export function modifiedAt(index: number, feed: FeedOptions = {}): number {
  return (feed.startTime ?? DEFAULT_START_TIME).getTime() + index * RECORD_INTERVAL_MS;
}

const DAY_MS = 86_400_000;
const NEVER_EXPIRES = ['9999-12-31T00:00:00.000Z', '2318-07-09T20:41:16.995Z'];
const HASH_LENGTHS: Record<string, number> = { MD5: 32, SHA1: 40, SHA256: 64, SHA512: 128 };
const ITYPES: Record<ThreatStreamType, readonly string[]> = {
  ip: ['c2_ip', 'mal_ip', 'bot_ip', 'scan_ip', 'tor_ip', 'apt_ip', 'phish_ip', 'brute_ip'],
  ipv6: ['mal_ipv6', 'c2_ipv6', 'tor_ipv6', 'scan_ipv6'],
  domain: ['mal_domain', 'c2_domain', 'phish_domain', 'apt_domain', 'dyn_dns', 'spam_domain'],
  url: ['mal_url', 'phish_url', 'c2_url', 'exploit_url', 'apt_url'],
  email: ['phish_email', 'spam_email', 'mal_email', 'apt_email'],
  md5: ['mal_md5', 'apt_md5', 'ransomware_hash', 'trojan_hash', 'crypto_hash', 'phish_md5'],
  // The first six have a STIX observable; the rest are string itypes a connector may not map.
  string: [
    'mal_mutex',
    'mal_file_name',
    'mal_ssdeep',
    'mal_ua',
    'mal_registry_key',
    'crypto_wallet',
    'actor_username',
    'exploit_cve_id',
    'phone_number',
    'ransomware_group',
  ],
};
const THREAT_TYPES: Record<string, string> = {
  c2: 'c2',
  mal: 'malware',
  bot: 'bot',
  scan: 'scan',
  tor: 'tor',
  apt: 'apt',
  phish: 'phish',
  brute: 'brute',
  dyn: 'suspicious',
  spam: 'spam',
  exploit: 'exploit',
  ransomware: 'malware',
  trojan: 'malware',
  crypto: 'malware',
  actor: 'apt',
  phone: 'fraud',
};
const SEVERITIES = ['low', 'medium', 'high', 'very-high'];
const TLPS = ['red', 'amber', 'amber+strict', 'green', 'clear', 'white'];
const TAG_NAMES = ['phish-target', 'victim-hi-tech', 'emotet', 'botnet', 'Unit42.Upatre', 'cve'];
const SOURCES = ['Analyst', 'Default Organization', 'TOR Exit Nodes', 'Abuse.ch', 'Mandiant'];
const FEED_IDS = [9241, 1103, 3107];
const MALTYPES = ['emotet', 'qakbot', 'cobaltstrike', 'lockbit'];
const WORDS = ['login', 'secure', 'update', 'cdn', 'invoice', 'portal', 'mail', 'cloud'];
const TLDS = ['com', 'net', 'org', 'ru', 'xyz', 'top', 'info'];
const PLACES = [
  { country: 'DE', org: 'Hetzner Online GmbH', asn: '24940', latitude: 51.2993, longitude: 9.491 },
  { country: 'US', org: 'DigitalOcean, LLC', asn: '14061', latitude: 40.7128, longitude: -74.006 },
  { country: 'NL', org: 'Leaseweb', asn: '60781', latitude: 52.3676, longitude: 4.9041 },
  { country: 'RU', org: 'Selectel', asn: '49505', latitude: 59.9343, longitude: 30.3351 },
];

/**
 * A deterministic stream of choices for one record: splitmix32 seeded from (seed, index).
 * Not cryptographic, and cheap enough for a benchmark feed of half a million records.
 */
class Dice {
  private state: number;
  constructor(seed: number, index: number) {
    this.state = mix32(mix32(seed) ^ index);
  }
  private next(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    return mix32(this.state);
  }
  /** The next number in [0, n), for n up to 2^32. */
  below(n: number): number {
    return this.next() % n;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)]!;
  }
  /** Random hex digits, for hash-like values. */
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.next().toString(16).padStart(8, '0');
    return out.slice(0, length);
  }
}

/** The murmur3 finaliser: spreads every input bit over the 32 output bits. */
function mix32(value: number): number {
  let h = value | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The original version of record `index` (before any update made by the simulator). */
export function recordAt(index: number, feed: FeedOptions = {}): SimulatedRecord {
  const seed = feed.seed ?? 1;
  const dice = new Dice(seed, index);
  const type = typeAt(index);
  const itype = dice.pick(ITYPES[type]);
  const observable = observableOf(type, itype, index, dice);
  const modifiedMs = modifiedAt(index, feed);
  const createdMs = modifiedMs - dice.below(30 * DAY_MS);
  const status = statusOf(dice.below(100), feed.nonActiveShare);
  const confidence = dice.below(10) === 0 ? -1 : dice.below(101);
  const sharing = dice.below(10);
  const trustedCircleIds = sharing < 2 ? [10015] : null;
  const place = observable.ip === null || dice.below(4) === 0 ? null : dice.pick(PLACES);
  const updateId = updateIdAt(index);
  const id = FIRST_ID + index;
  return {
    id,
    update_id: updateId,
    uuid: uuidFrom(dice),
    value: observable.value,
    type,
    subtype: observable.subtype,
    itype,
    threat_type: THREAT_TYPES[itype.split('_')[0]!] ?? 'suspicious',
    status,
    confidence,
    source_reported_confidence: confidence,
    retina_confidence: dice.below(5) === 0 ? dice.below(101) : -1,
    threatscore: Math.max(0, confidence),
    meta: metaOf(status, itype, modifiedMs, dice),
    tags: tagsOf(dice),
    tlp: dice.below(10) < 8 ? null : dice.pick(TLPS),
    is_public: trustedCircleIds === null && sharing < 8,
    is_anonymous: false,
    is_editable: false,
    can_add_public_tags: true,
    trusted_circle_ids: trustedCircleIds,
    feed_id: dice.below(4) === 0 ? 0 : dice.pick(FEED_IDS),
    owner_organization_id: 67,
    import_session_id: null,
    source: dice.pick(SOURCES),
    source_created: null,
    source_modified: null,
    created_by: null,
    description: null,
    created_ts: new Date(createdMs).toISOString(),
    modified_ts: new Date(modifiedMs).toISOString(),
    expiration_ts: expirationOf(createdMs, dice),
    ip: observable.ip,
    rdns: null,
    asn: place?.asn ?? '',
    org: place?.org ?? '',
    country: place?.country ?? null,
    latitude: place?.latitude ?? null,
    longitude: place?.longitude ?? null,
    target_industry: [],
    locations: [],
    source_locations: [],
    workgroups: [],
    sort: [updateId],
    resource_uri: `/api/v2/intelligence/${id}/`,
  };
}

/** `roll` is the record's dice in [0, 100); of the non-active records, 70 % are inactive. */
function statusOf(roll: number, nonActiveShare = 0.1): SimulatedRecord['status'] {
  const percent = Math.round(nonActiveShare * 100);
  if (roll < 100 - percent) return 'active';
  return roll < 100 - Math.round(percent * 0.3) ? 'inactive' : 'falsepos';
}

interface Observable {
  value: string;
  subtype: string | null;
  /** The record's `ip` field: the address itself, or what a domain/url resolved to. */
  ip: string | null;
}

function observableOf(
  type: ThreatStreamType,
  itype: string,
  index: number,
  dice: Dice,
): Observable {
  const tag = index.toString(36);
  const domain = `${dice.pick(WORDS)}-${tag}.${dice.pick(TLDS)}`;
  const resolved = dice.below(2) === 0 ? null : ipv4From(dice);
  switch (type) {
    case 'ip': {
      // ThreatStream files some IPv6 addresses under type ip.
      const value = dice.below(8) === 0 ? ipv6From(dice) : ipv4From(dice);
      return { value, subtype: null, ip: value };
    }
    case 'ipv6': {
      const value = ipv6From(dice);
      return { value, subtype: null, ip: value };
    }
    case 'domain':
      return { value: domain, subtype: null, ip: resolved };
    case 'url':
      return {
        value: `https://${domain}/${dice.hex(8)}/index.php`,
        subtype: null,
        ip: resolved,
      };
    case 'email':
      return { value: `${dice.pick(WORDS)}.${tag}@${domain}`, subtype: null, ip: null };
    case 'md5': {
      const subtype = dice.pick(Object.keys(HASH_LENGTHS));
      return { value: dice.hex(HASH_LENGTHS[subtype]!), subtype, ip: null };
    }
    case 'string':
      return { value: stringValueOf(itype, tag, dice), subtype: null, ip: null };
  }
}

function stringValueOf(itype: string, tag: string, dice: Dice): string {
  const hex = dice.hex(12);
  switch (itype) {
    case 'mal_mutex':
      return `Global\\${hex}-${tag}`;
    case 'mal_file_name':
      return `invoice_${tag}.exe`;
    case 'mal_ssdeep':
      return `384:${hex}${tag}:${hex.slice(0, 6)}`;
    case 'mal_ua':
      return `Mozilla/5.0 (Windows NT 10.0; Win64; x64) Agent/${tag}`;
    case 'mal_registry_key':
      return `HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\${tag}`;
    case 'crypto_wallet':
      return `bc1q${dice.hex(38)}`;
    case 'exploit_cve_id':
      return `CVE-2024-${10000 + (parseInt(hex.slice(0, 4), 16) % 90000)}`;
    case 'phone_number':
      return `+1555${parseInt(hex.slice(0, 6), 16) % 10_000_000}`;
    default:
      return `${itype}-${tag}`;
  }
}

function metaOf(
  status: SimulatedRecord['status'],
  itype: string,
  modifiedMs: number,
  dice: Dice,
): SimulatedRecord['meta'] {
  const detail2 =
    status === 'inactive'
      ? `bifocals_deactivated_on_${new Date(modifiedMs).toISOString().replace('T', '_').slice(0, 19)}`
      : `imported by user ${100 + dice.below(100)}`;
  const meta: SimulatedRecord['meta'] = { severity: dice.pick(SEVERITIES), detail2 };
  if (itype.startsWith('mal_') && dice.below(2) === 0) meta.maltype = dice.pick(MALTYPES);
  return meta;
}

function tagsOf(dice: Dice): SimulatedTag[] | null {
  const roll = dice.below(10);
  if (roll < 3) return null;
  const count = roll < 5 ? 0 : 1 + dice.below(3);
  return Array.from({ length: count }, () => ({
    id: (dice.below(46656) + 1296).toString(36).slice(-3),
    name: dice.pick(TAG_NAMES),
  }));
}

function expirationOf(createdMs: number, dice: Dice): string {
  const roll = dice.below(5);
  if (roll < 2) return NEVER_EXPIRES[roll]!;
  return new Date(createdMs + 90 * DAY_MS).toISOString();
}

function ipv4From(dice: Dice): string {
  // A first octet of 11..190 keeps clear of 0.x, 10.x and loopback, so the value looks routable.
  const octets = [11 + dice.below(180), dice.below(256), dice.below(256), dice.below(256)];
  return octets.join('.');
}

/** In the documentation prefix 2001:db8::/32. */
function ipv6From(dice: Dice): string {
  const groups = Array.from({ length: 6 }, () => dice.below(0x10000).toString(16));
  return `2001:db8:${groups.join(':')}`;
}

function uuidFrom(dice: Dice): string {
  const hex = dice.hex(32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
