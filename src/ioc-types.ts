/** The IOC types the connector imports, as users name them in the configuration. */
export const IOC_TYPES = ['ip', 'ipv6', 'domain', 'url', 'email', 'hash', 'string'] as const;
export type IocType = (typeof IOC_TYPES)[number];
