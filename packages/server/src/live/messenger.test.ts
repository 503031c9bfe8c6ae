import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '@iceberg/common';
import { memoryBus, ScriptedDevice, settle, until } from './live-test-helpers.ts';
import { type CommandStatus, Messenger } from './messenger.ts';

const config = { commandTimeoutSeconds: 10, commandRetries: 2 };
const start = {
  type: 'StartStream' as const,
  orgId: 'acme',
  deviceId: 'edge-1',
  cameraId: 'door',
  streamId: 'ls-1',
  publishUrl: 'rtmp://127.0.0.1/live/ls-1?key=secret',
  annotated: true,
  ttlSeconds: 30,
};

describe('messenger', () => {
  test('a command to a silent device is sent again with the same id, then times out as device_unreachable', async () => {
    const bus = memoryBus();
    const clock = new ManualClock(1_000_000);
    const device = new ScriptedDevice(bus, 'acme', 'edge-1');
    await device.start();
    const messenger = new Messenger({ bus, clock, config });
    await messenger.start();
    const seen: CommandStatus[] = [];
    messenger.on('command', (s) => seen.push(s));

    const sent = await messenger.send(start);
    await until(() => device.commands.length === 1);
    for (let i = 0; i < 4; i++) {
      clock.advance(3400);
      await settle();
    }
    const status = messenger.status(sent.id);
    assert.equal(status?.state, 'timed_out');
    assert.equal(status?.reason, 'device_unreachable');
    assert.match(status?.message ?? '', /did not answer within 10 s \(3 attempts\)/);
    assert.equal(device.commands.length, 3, 'the first send and two retries');
    assert.deepEqual(new Set(device.commands.map((c) => c.commandId)), new Set([sent.id]), 'same command id');
    assert.equal(seen.at(-1)?.state, 'timed_out');
    await messenger.stop();
  });

  test('a start to a device known to be offline fails at once, with the reason, and sends nothing', async () => {
    const bus = memoryBus();
    const device = new ScriptedDevice(bus, 'acme', 'edge-1');
    await device.start();
    const messenger = new Messenger({
      bus,
      clock: new ManualClock(0),
      config,
      presence: async () => 'the device "edge-1" is offline: no heartbeat for 600 s',
    });
    await messenger.start();
    const status = await messenger.send(start);
    await settle();
    assert.equal(status.state, 'failed');
    assert.equal(status.reason, 'device_offline');
    assert.match(status.message ?? '', /no heartbeat for 600 s/);
    assert.equal(device.commands.length, 0);
    await messenger.stop();
  });

  test('follows the acknowledgements: accepted, then started; acks from another device are ignored', async () => {
    const bus = memoryBus();
    const clock = new ManualClock(0);
    const device = new ScriptedDevice(bus, 'acme', 'edge-1');
    const intruder = new ScriptedDevice(bus, 'acme', 'edge-2');
    await device.start();
    const messenger = new Messenger({ bus, clock, config });
    await messenger.start();
    const sent = await messenger.send(start);
    await until(() => device.commands.length === 1);
    const command = device.commands[0]!;
    // Another device claims the command failed: not its command, nothing changes.
    await intruder.ack({ ...command, deviceId: 'edge-2' }, 'failed', 'internal');
    await settle();
    assert.equal(messenger.status(sent.id)?.state, 'sent');
    await device.ack(command, 'accepted');
    await until(() => messenger.status(sent.id)?.state === 'accepted');
    clock.advance(15_000); // the ack timeout no longer applies once accepted
    await device.ack(command, 'started');
    await until(() => messenger.status(sent.id)?.state === 'started');
    assert.equal(messenger.status(sent.id)?.reason, null);
    await messenger.stop();
  });

  test('a device that accepts but never starts ends as start_timeout', async () => {
    const bus = memoryBus();
    const clock = new ManualClock(0);
    const device = new ScriptedDevice(bus, 'acme', 'edge-1');
    device.answer = () => ['accepted'];
    await device.start();
    const messenger = new Messenger({ bus, clock, config });
    await messenger.start();
    const sent = await messenger.send(start);
    await until(() => messenger.status(sent.id)?.state === 'accepted');
    clock.advance(41_000);
    assert.equal(messenger.status(sent.id)?.state, 'timed_out');
    assert.equal(messenger.status(sent.id)?.reason, 'start_timeout');
    await messenger.stop();
  });
});
