import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadKafkaModule } from './kafka-module.ts';
import { connectionSettings, redactSettings } from './kafka-options.ts';

describe('Kafka settings', () => {
  test('plain brokers: plaintext, the brokers joined', () => {
    const s = connectionSettings({ brokers: ['k1:9092', 'k2:9092'] });
    assert.equal(s['bootstrap.servers'], 'k1:9092,k2:9092');
    assert.equal(s['security.protocol'], 'plaintext');
  });

  test('SASL goes over TLS unless TLS is turned off; SCRAM mechanisms by their Kafka names', () => {
    const sasl = { mechanism: 'scram-sha-512' as const, username: 'edge', password: 's3cret' };
    const over = connectionSettings({ brokers: ['k:9093'], sasl });
    assert.equal(over['security.protocol'], 'sasl_ssl');
    assert.equal(over['sasl.mechanisms'], 'SCRAM-SHA-512');
    const clear = connectionSettings({
      brokers: ['k:9092'],
      sasl,
      tls: { enabled: false, rejectUnauthorized: true },
    });
    assert.equal(clear['security.protocol'], 'sasl_plaintext');
    assert.equal(redactSettings(over)['sasl.password'], '***');
  });

  test('TLS with a CA file that is not there names the key', () => {
    assert.throws(
      () =>
        connectionSettings({
          brokers: ['k:9093'],
          tls: { enabled: true, ca: '/nonexistent/ca.pem', rejectUnauthorized: true },
        }),
      /bus\.kafka\.tls\.ca: cannot read \/nonexistent\/ca\.pem/,
    );
    const lab = connectionSettings({
      brokers: ['k:9093'],
      tls: { enabled: true, rejectUnauthorized: false },
    });
    assert.equal(lab['security.protocol'], 'ssl');
    assert.equal(lab['enable.ssl.certificate.verification'], false);
  });

  test('the client missing: a clear ICEBERG_ERR_BUS_UNAVAILABLE saying what to install', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module '@confluentinc/kafka-javascript'"), {
        code: 'MODULE_NOT_FOUND',
      });
    };
    assert.throws(
      () => loadKafkaModule(missing),
      (err: Error & { code?: string }) =>
        err.code === 'ICEBERG_ERR_BUS_UNAVAILABLE' &&
        /not installed/.test(err.message) &&
        /CKJS_LINKING=dynamic/.test(err.message),
    );
    const broken = () => {
      throw new Error('libsasl2.so.2: cannot open shared object file');
    };
    assert.throws(() => loadKafkaModule(broken), /cannot be loaded \(libsasl2/);
  });
});
