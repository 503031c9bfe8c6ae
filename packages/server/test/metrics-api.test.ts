import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { examples } from '@iceberg/contracts';
import { alertInput, createEventsApp, type EventsTestApp, T0, trackEvent } from './events-helpers.ts';

describe('metrics and the API document', () => {
  let t: EventsTestApp;

  before(async () => {
    t = await createEventsApp();
    await t.store.tracks.applyEvent(
      trackEvent({ orgId: 'org-a', cameraId: 'secret-camera', trackId: 't-1', firstSeenAt: T0 }),
    );
    await t.store.alerts.insertIfNew(
      alertInput({ orgId: 'org-a', id: 'al-1', at: T0, ruleId: 'secret-rule' }),
    );
    t.deps.metrics.alertsRaised.inc({ reason: 'enter' });
    t.deps.metrics.messagesConsumed.inc({ topic: 'tracks' }, 3);
    t.deps.metrics.outboxBacklog.record({
      ...examples.deviceStatus,
      orgId: 'org-a',
      deviceId: 'secret-device',
      at: t.clock.now(),
      outbox: { pendingMessages: 42, pendingBytes: 9000, oldestPendingAt: t.clock.now() - 15_000, shed: 0 },
    });
  });
  after(() => t.close());

  test('GET /metrics serves Prometheus text without a token', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(r.statusCode, 200, r.body);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.equal(r.headers['content-type'], t.deps.metrics.registry.contentType);
    for (const name of [
      'iceberg_live_clients',
      'iceberg_alerts_raised_total{reason="enter"} 1',
      'iceberg_bus_messages_consumed_total{topic="tracks"} 3',
      'iceberg_dead_letters',
      'iceberg_alert_latency_seconds_bucket',
      'iceberg_process_cpu_seconds_total',
      'iceberg_devices_outbox_backlogged 1',
      'iceberg_devices_outbox_pending_messages 42',
      'iceberg_devices_outbox_oldest_pending_seconds 15',
    ])
      assert.ok(r.body.includes(name), name);
    assert.match(r.body, /^# HELP /m);
  });

  test('it holds no tenant data', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/metrics' });
    for (const secret of ['org-a', 'org-b', 'secret-camera', 'secret-rule', 'secret-device', '@org-a.test'])
      assert.ok(!r.body.includes(secret), secret);
  });

  test('the OpenAPI document describes every route, authenticated ones with bearer security', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/openapi.json' });
    assert.equal(r.statusCode, 200, r.body);
    const doc = r.json() as {
      paths: Record<
        string,
        Record<
          string,
          {
            summary?: string;
            tags?: string[];
            security?: unknown;
            responses?: Record<string, { content?: Record<string, unknown> }>;
          }
        >
      >;
    };
    const expected: Array<[string, string, boolean]> = [
      ['/api/events', 'get', true],
      ['/api/cameras/{cameraId}/events/{trackId}', 'get', true],
      ['/api/cameras/{cameraId}/events/{trackId}/snapshot', 'get', true],
      ['/api/alerts', 'get', true],
      ['/api/alerts/{id}', 'get', true],
      ['/api/alerts/{id}', 'patch', true],
      ['/api/alerts/{id}/snapshot', 'get', true],
      ['/api/dead-letters', 'get', true],
      ['/api/dead-letters/count', 'get', true],
      ['/api/dead-letters/{id}', 'get', true],
      ['/api/ws', 'get', true],
      ['/metrics', 'get', false],
    ];
    for (const [path, method, secured] of expected) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method} ${path}`);
      assert.ok(op.summary && op.tags?.length, `${method} ${path} has a summary and tags`);
      assert.equal(op.security !== undefined, secured, `${method} ${path} security`);
    }
    const snap = doc.paths['/api/alerts/{id}/snapshot']?.get?.responses?.['200'];
    assert.ok(snap?.content?.['image/jpeg'], 'the snapshot is documented as image/jpeg');
  });
});
