import { readFileSync } from 'node:fs';
import type { Config } from '../config';
import type { BrokerConfig } from './api';
import type { BrokerSettings } from './publisher';

/** PEM material is given inline (as pycti accepts) or as a path to a file holding it. */
function pem(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

/**
 * The broker the connector publishes to: what OpenCTI returned at registration, with the `MQ_*`
 * overrides applied (the platform often answers a host name only its own containers resolve).
 */
export function brokerSettings(
  platform: BrokerConfig['connection'],
  mq: Config['mq'],
): BrokerSettings {
  const useSsl = mq.use_ssl ?? platform.use_ssl;
  return {
    hostname: mq.host ?? platform.host,
    port: mq.port ?? platform.port,
    username: mq.user ?? platform.user,
    password: mq.pass ?? platform.pass,
    vhost: mq.vhost ?? platform.vhost,
    ...(useSsl && {
      tls: {
        rejectUnauthorized: mq.use_ssl_reject_unauthorized,
        ...optional('ca', pem(mq.use_ssl_ca)),
        ...optional('cert', pem(mq.use_ssl_cert)),
        ...optional('key', pem(mq.use_ssl_key)),
        ...optional('passphrase', mq.use_ssl_passphrase),
      },
    }),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
