import { accessSync, constants } from 'node:fs';
import { IcebergError } from '@iceberg/common';

/** What the Kafka adapter needs to reach a cluster (the config's `bus.kafka` block). */
export interface KafkaConnection {
  brokers: readonly string[];
  clientId?: string | undefined;
  sasl?:
    | {
        mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
        username: string;
        password: string;
      }
    | undefined;
  tls?:
    | {
        enabled: boolean;
        ca?: string | undefined;
        cert?: string | undefined;
        key?: string | undefined;
        rejectUnauthorized: boolean;
      }
    | undefined;
}

export type LibrdkafkaSettings = Record<string, string | number | boolean>;

const saslMechanisms = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
} as const;

/**
 * Connection settings in librdkafka's names (https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md).
 * SASL goes over TLS unless TLS is explicitly disabled, so a password never crosses the network
 * in clear by accident. Certificate files are checked now, so a wrong path fails at start with
 * the key that names it rather than as a handshake error later.
 */
export function connectionSettings(c: KafkaConnection): LibrdkafkaSettings {
  const settings: LibrdkafkaSettings = {
    'bootstrap.servers': c.brokers.join(','),
    'client.id': c.clientId ?? 'iceberg',
  };
  const tls = c.tls?.enabled === false ? false : c.tls !== undefined || c.sasl !== undefined;
  settings['security.protocol'] = c.sasl ? (tls ? 'sasl_ssl' : 'sasl_plaintext') : tls ? 'ssl' : 'plaintext';
  if (c.sasl) {
    settings['sasl.mechanisms'] = saslMechanisms[c.sasl.mechanism];
    settings['sasl.username'] = c.sasl.username;
    settings['sasl.password'] = c.sasl.password;
  }
  if (tls && c.tls) {
    if (c.tls.ca) settings['ssl.ca.location'] = readable(c.tls.ca, 'bus.kafka.tls.ca');
    if (c.tls.cert) settings['ssl.certificate.location'] = readable(c.tls.cert, 'bus.kafka.tls.cert');
    if (c.tls.key) settings['ssl.key.location'] = readable(c.tls.key, 'bus.kafka.tls.key');
    settings['enable.ssl.certificate.verification'] = c.tls.rejectUnauthorized;
    settings['ssl.endpoint.identification.algorithm'] = c.tls.rejectUnauthorized ? 'https' : 'none';
  }
  return settings;
}

/**
 * The producer side of the delivery guarantee: idempotent (no duplicates or reordering from
 * its own retries), acks from all in-sync replicas, retried until `message.timeout.ms`.
 */
export const producerSettings: LibrdkafkaSettings = {
  'compression.type': 'lz4',
  /** murmur2 like the Java client (and the in-process bus), so every client puts a camera in the same partition. */
  partitioner: 'murmur2_random',
  'linger.ms': 5,
  'message.timeout.ms': 120_000,
  'retry.backoff.ms': 200,
};

/** What the producer's guarantee rests on: applied last, never overridden. */
export const producerGuarantees: LibrdkafkaSettings = {
  'enable.idempotence': true,
  acks: -1,
  'max.in.flight.requests.per.connection': 5,
};

/**
 * The consumer side: offsets are stored only once a message's handler has finished and
 * committed from the stored ones (at-least-once); committed again on a graceful close.
 */
export const consumerSettings: LibrdkafkaSettings = {
  'enable.auto.commit': true,
  'auto.commit.interval.ms': 1000,
  /** Members keep consuming the partitions they keep while a rebalance moves the others. */
  'partition.assignment.strategy': 'cooperative-sticky',
  'topic.metadata.refresh.interval.ms': 10_000,
};

/** Settings safe to log: secrets masked. */
export function redactSettings(settings: LibrdkafkaSettings): LibrdkafkaSettings {
  const out: LibrdkafkaSettings = {};
  for (const [k, v] of Object.entries(settings))
    out[k] = /password|secret|sasl\.oauthbearer\.config|key\.pem|ssl\.key\.password/i.test(k) ? '***' : v;
  return out;
}

function readable(file: string, key: string): string {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      `${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return file;
}
