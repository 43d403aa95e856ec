/** The ThreatStream IOC types the connector imports, each with a cursor of its own. */
export const IOC_TYPES = ['ip', 'ipv6', 'domain', 'url', 'email', 'hash', 'string'] as const;
export type IocType = (typeof IOC_TYPES)[number];
