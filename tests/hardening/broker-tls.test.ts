import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config';
import { silentLogger } from '../../src/log';
import type { BrokerConfig } from '../../src/opencti/api';
import { brokerSettings } from '../../src/opencti/broker';
import { AmqpPublisher, PublishError, type BrokerSettings } from '../../src/opencti/publisher';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { startConnector } from '../support/in-process-daemon';
import { SELF_SIGNED_CERT, SELF_SIGNED_KEY } from '../support/threatstream-tls';
import { waitUntil } from '../support/wait';

/**
 * amqps without touching the shared broker: the settings are checked as data, and what the
 * publisher hands to the TLS socket is checked against a local TLS server, by how the handshake
 * ends. Past the handshake that server speaks no AMQP, so publishing then fails, which is fine.
 */

/** The broker's certificate: self-signed for 127.0.0.1, trusted nowhere unless given as the CA. */
const BROKER_CERT = SELF_SIGNED_CERT.trim();
const BROKER_KEY = SELF_SIGNED_KEY.trim();
/** A different self-signed pair, for the connector's client certificate. */
const CLIENT_PEM = readFileSync(
  path.join(__dirname, '..', 'opencti', 'fixtures', 'self-signed-127.0.0.1.pem'),
  'utf8',
);
const CLIENT_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(
  CLIENT_PEM,
)![0];
const CLIENT_KEY = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(
  CLIENT_PEM,
)![0];

const REQUIRED = {
  OPENCTI_URL: 'http://opencti:8080',
  OPENCTI_TOKEN: 'tls-test-token-1e5d',
  CONNECTOR_ID: '4e0c2f53-63e1-4b0f-8c2e-1f3ad0b1c7e2',
  ANOMALI_USERNAME: 'analyst@example.com',
  ANOMALI_API_KEY: 'tls-test-key-7a2c',
  CONNECTOR_CONFIG_FILE: '/dev/null',
};

const PLATFORM: BrokerConfig['connection'] = {
  host: 'rabbitmq',
  port: 5672,
  user: 'opencti',
  pass: 'platform-pass',
  vhost: '/',
  use_ssl: false,
};

const mqOf = (env: Record<string, string>) => loadConfig({ ...REQUIRED, ...env }).mq;

let directory: string;
beforeAll(() => {
  directory = mkdtempSync(path.join(tmpdir(), 'broker-tls-'));
  writeFileSync(path.join(directory, 'ca.pem'), BROKER_CERT);
  writeFileSync(path.join(directory, 'client-key.pem'), CLIENT_KEY);
});
afterAll(() => rmSync(directory, { recursive: true }));

describe('brokerSettings', () => {
  it('uses what OpenCTI hands out at registration when no MQ_* key is set', () => {
    expect(brokerSettings(PLATFORM, mqOf({}))).toEqual({
      hostname: 'rabbitmq',
      port: 5672,
      username: 'opencti',
      password: 'platform-pass',
      vhost: '/',
    });
  });

  it('lets each MQ_* key override its part of the platform answer', () => {
    const mq = mqOf({ MQ_HOST: '10.1.2.3', MQ_PORT: '5673', MQ_USER: 'me', MQ_PASS: 'mine' });
    expect(brokerSettings(PLATFORM, mq)).toEqual({
      hostname: '10.1.2.3',
      port: 5673,
      username: 'me',
      password: 'mine',
      vhost: '/',
    });
    expect(brokerSettings(PLATFORM, mqOf({ MQ_VHOST: 'opencti' })).vhost).toBe('opencti');
  });

  it.each([
    [false, {}, false],
    [true, {}, true],
    [true, { MQ_USE_SSL: 'false' }, false],
    [false, { MQ_USE_SSL: 'true' }, true],
  ] as const)(
    'speaks TLS only when use_ssl says so (platform use_ssl %p, %p): %p',
    (platformSsl, env, tlsExpected) => {
      const settings = brokerSettings({ ...PLATFORM, use_ssl: platformSsl }, mqOf(env));
      expect(settings.tls !== undefined).toBe(tlsExpected);
    },
  );

  it('reads PEM material given inline or as a file path, and keeps verification off unless asked', () => {
    const settings = brokerSettings(
      { ...PLATFORM, use_ssl: true },
      mqOf({
        MQ_USE_SSL_CA: path.join(directory, 'ca.pem'),
        MQ_USE_SSL_CERT: CLIENT_CERT,
        MQ_USE_SSL_KEY: path.join(directory, 'client-key.pem'),
        MQ_USE_SSL_PASSPHRASE: 'unlock-me',
      }),
    );
    expect(settings.tls).toEqual({
      ca: BROKER_CERT,
      cert: CLIENT_CERT,
      key: CLIENT_KEY,
      passphrase: 'unlock-me',
      rejectUnauthorized: false,
    });
    const verified = mqOf({ MQ_USE_SSL: 'true', MQ_USE_SSL_REJECT_UNAUTHORIZED: 'true' });
    expect(brokerSettings(PLATFORM, verified).tls).toEqual({ rejectUnauthorized: true });
  });
});

interface Handshake {
  servername: string | false;
  /** Whether the client certificate was verified against the server's CA list. */
  clientAuthorized: boolean;
  clientSubject: string | undefined;
}

/** A TLS endpoint that records each completed handshake, then hangs up (it is no broker). */
class TlsEndpoint {
  readonly handshakes: Handshake[] = [];
  readonly failures: string[] = [];
  private constructor(private readonly server: tls.Server) {}

  static async start(options: tls.TlsOptions = {}): Promise<TlsEndpoint> {
    const server = tls.createServer({ key: BROKER_KEY, cert: BROKER_CERT, ...options });
    const endpoint = new TlsEndpoint(server);
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const subject = socket.getPeerCertificate().subject?.CN;
      endpoint.handshakes.push({
        servername: (socket as tls.TLSSocket & { servername: string | false }).servername,
        clientAuthorized: socket.authorized,
        clientSubject: Array.isArray(subject) ? subject.join(',') : subject,
      });
      socket.destroy();
    });
    server.on('tlsClientError', (error) => endpoint.failures.push(error.message));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return endpoint;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.close();
    await once(this.server, 'close');
  }
}

const endpoints: TlsEndpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

async function endpoint(options: tls.TlsOptions = {}): Promise<TlsEndpoint> {
  const started = await TlsEndpoint.start(options);
  endpoints.push(started);
  return started;
}

/** Publishes once over amqps to the endpoint; resolves with the failure, whose cause says why. */
async function publishOver(
  e: TlsEndpoint,
  tlsSettings: BrokerSettings['tls'],
  hostname = '127.0.0.1',
): Promise<string> {
  const publisher = new AmqpPublisher({
    broker: {
      hostname,
      port: e.port,
      username: 'u',
      password: 'p',
      vhost: '/',
      ...(tlsSettings && { tls: tlsSettings }),
    },
    exchange: 'amqp.worker.exchange',
    routingKey: 'nowhere',
    logger: silentLogger(),
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    backPressure: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    confirmTimeoutMs: 5000,
  });
  const error = await publisher.publishBatch([Buffer.from('{}')]).catch((e: unknown) => e);
  await publisher.close();
  expect(error).toBeInstanceOf(PublishError);
  return String((error as PublishError).cause);
}

describe("the publisher's TLS socket", () => {
  it('with verification on and no CA, refuses a self-signed broker before any AMQP byte', async () => {
    const broker = await endpoint();
    const cause = await publishOver(broker, { rejectUnauthorized: true });
    expect(cause).toMatch(/self[- ]signed certificate/i);
    expect(broker.handshakes).toEqual([]);
  });

  it('with verification on and the broker CA from MQ_USE_SSL_CA, completes the TLS handshake', async () => {
    const broker = await endpoint();
    const settings = brokerSettings(
      { ...PLATFORM, use_ssl: true },
      mqOf({
        MQ_USE_SSL_CA: path.join(directory, 'ca.pem'),
        MQ_USE_SSL_REJECT_UNAUTHORIZED: 'true',
      }),
    );
    const cause = await publishOver(broker, settings.tls);
    expect(broker.handshakes).toHaveLength(1);
    expect(cause).not.toMatch(/certificate/i);
  });

  it("checks the broker's certificate against MQ_HOST, not only against the CA", async () => {
    const broker = await endpoint();
    const cause = await publishOver(
      broker,
      { rejectUnauthorized: true, ca: BROKER_CERT },
      'localhost',
    );
    expect(cause).toMatch(/does not match certificate's altnames/);
  });

  it('with verification off, completes the handshake with an untrusted certificate', async () => {
    const broker = await endpoint();
    await publishOver(broker, { rejectUnauthorized: false });
    expect(broker.handshakes).toHaveLength(1);
  });

  it('sends MQ_HOST as the TLS server name, and none for an IP address (RFC 6066)', async () => {
    const broker = await endpoint();
    await publishOver(broker, { rejectUnauthorized: false }, 'localhost');
    await publishOver(broker, { rejectUnauthorized: false }, '127.0.0.1');
    expect(broker.handshakes.map((h) => h.servername)).toEqual(['localhost', false]);
  });

  it('presents the client certificate and key to a broker that requires one', async () => {
    const broker = await endpoint({
      requestCert: true,
      rejectUnauthorized: true,
      ca: [CLIENT_CERT],
    });
    await publishOver(broker, { rejectUnauthorized: false, cert: CLIENT_CERT, key: CLIENT_KEY });
    expect(broker.handshakes).toEqual([
      { servername: false, clientAuthorized: true, clientSubject: '127.0.0.1' },
    ]);

    await publishOver(broker, { rejectUnauthorized: false });
    expect(broker.handshakes).toHaveLength(1);
    expect(broker.failures).toHaveLength(1);
  });
});

describe('certificate verification turned off', () => {
  let world: ConnectorWorld | undefined;
  let openCtiOverTls: net.Server | undefined;

  afterEach(async () => {
    openCtiOverTls?.close();
    await world?.close();
    world = undefined;
  });

  const WARNINGS = [
    'OpenCTI TLS certificate verification is disabled',
    'TLS certificate verification of ThreatStream is disabled: the API key is exposed to anyone able to intercept the connection',
    'RabbitMQ TLS certificate verification is disabled (MQ_USE_SSL_REJECT_UNAUTHORIZED=false)',
  ];

  it('is said once for each of OpenCTI, ThreatStream and RabbitMQ, and still used', async () => {
    world = await startWorld({ total: 50 });
    openCtiOverTls = await tlsFrontOf(Number(new URL(world.opencti.url).port));
    const broker = await endpoint();
    const connector = startConnector(world, {
      OPENCTI_URL: `https://127.0.0.1:${(openCtiOverTls.address() as net.AddressInfo).port}`,
      OPENCTI_SSL_VERIFY: 'false',
      ANOMALI_SSL_VERIFY: 'false',
      MQ_USE_SSL: 'true',
      MQ_HOST: '127.0.0.1',
      MQ_PORT: String(broker.port),
      MQ_USE_SSL_REJECT_UNAUTHORIZED: 'false',
      ANOMALI_TYPES: 'ip',
    });
    // The broker stand-in ends every connection after the handshake: the first one is enough.
    await waitUntil(() => broker.handshakes.length > 0);
    connector.abort();
    await connector.done;

    const warnings = connector.logs.entries().filter((e) => e.level === 'warn');
    for (const warning of WARNINGS) {
      expect(warnings.filter((e) => e.message === warning)).toHaveLength(1);
    }
    // Registration went through the TLS front, and the broker handshake succeeded unverified.
    expect(world.opencti.calls('RegisterConnector')).toHaveLength(1);
    expect(broker.handshakes.length).toBeGreaterThan(0);
  });

  it('is not claimed when verification is on', async () => {
    world = await startWorld({ total: 50 });
    const connector = startConnector(world, { ANOMALI_TYPES: 'ip' });
    expect(await connector.done).toBe(0);
    const messages = connector.logs.entries().map((e) => e.message);
    for (const warning of WARNINGS) expect(messages).not.toContain(warning);
  });
});

/** OpenCTI behind TLS with a certificate nobody trusts, as a self-signed reverse proxy gives it. */
async function tlsFrontOf(port: number): Promise<net.Server> {
  const server = tls.createServer({ key: BROKER_KEY, cert: BROKER_CERT }, (socket) => {
    const upstream = net.connect(port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}
