import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '@iceberg/common';
import { type DeviceStatusV1, examples } from '@iceberg/contracts';
import { Registry } from 'prom-client';
import { OutboxBacklog } from './outbox-backlog.ts';

const T0 = 1_764_000_000_000;

function heartbeat(deviceId: string, outbox: DeviceStatusV1['outbox'], orgId = 'acme'): DeviceStatusV1 {
  return { ...examples.deviceStatus, orgId, deviceId, ...(outbox ? { outbox } : {}) };
}

const backlog = (pendingMessages: number, oldestPendingAt: number | null, shed = 0) => ({
  pendingMessages,
  pendingBytes: pendingMessages * 300,
  oldestPendingAt,
  shed,
});

describe('outbox backlog gauges', () => {
  test('add up the devices’ latest heartbeats; the oldest waiting message ages with the clock', async () => {
    const clock = new ManualClock(T0);
    const registry = new Registry();
    const b = new OutboxBacklog(registry, clock);
    b.record(heartbeat('edge-1', backlog(0, null)));
    b.record(heartbeat('edge-2', backlog(120, T0 - 30_000, 7)));
    b.record(heartbeat('edge-3', backlog(5, T0 - 2_000)));
    b.record(heartbeat('edge-3', backlog(0, null))); // edge-3 drained: its latest heartbeat counts
    b.record(heartbeat('no-kafka', undefined)); // a device without an outbox is not counted
    clock.advance(10_000);
    assert.deepEqual(b.totals(), {
      devices: 3,
      backlogged: 1,
      pendingMessages: 120,
      pendingBytes: 36_000,
      oldestPendingSeconds: 40,
      shed: 7,
    });
    const text = await registry.metrics();
    assert.match(text, /^iceberg_devices_outbox_backlogged 1$/m);
    assert.match(text, /^iceberg_devices_outbox_pending_messages 120$/m);
    assert.match(text, /^iceberg_devices_outbox_pending_bytes 36000$/m);
    assert.match(text, /^iceberg_devices_outbox_oldest_pending_seconds 40$/m);
    assert.match(text, /^iceberg_devices_outbox_shed_messages 7$/m);
  });

  test('a device not heard from for a minute drops out; the same device id in two organisations counts twice', () => {
    const clock = new ManualClock(T0);
    const b = new OutboxBacklog(new Registry(), clock);
    b.record(heartbeat('edge-1', backlog(10, T0), 'org-a'));
    b.record(heartbeat('edge-1', backlog(20, T0), 'org-b'));
    assert.equal(b.totals().pendingMessages, 30);
    clock.advance(59_000);
    b.record(heartbeat('edge-1', backlog(4, T0), 'org-b'));
    clock.advance(2_000);
    assert.deepEqual(
      { devices: b.totals().devices, pending: b.totals().pendingMessages },
      { devices: 1, pending: 4 },
    );
  });

  test('a device clock ahead of the server’s gives no negative age', () => {
    const clock = new ManualClock(T0);
    const b = new OutboxBacklog(new Registry(), clock);
    b.record(heartbeat('edge-1', backlog(3, T0 + 5_000)));
    assert.equal(b.totals().oldestPendingSeconds, 0);
  });
});
