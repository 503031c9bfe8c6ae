import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Bus, MemoryBus } from '@iceberg/bus';
import { ManualClock, TypedEmitter } from '@iceberg/common';
import { IcebergConfig } from '@iceberg/config';
import type { CommandAckV1, StartStreamV1 } from '@iceberg/contracts';
import type { LivePush, LivePushEvents, PushFailure } from './push-process.ts';
import { StreamingAgent } from './streaming-agent.ts';

/** A push whose life the test decides. */
class FakePush extends TypedEmitter<LivePushEvents> implements LivePush {
  started = false;
  stopped = false;
  readonly pids = [1];
  start(): void {
    this.started = true;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  run(): void {
    this.emit('running');
  }
  fail(failure: PushFailure): void {
    this.emit('ended', failure);
  }
}

const config = IcebergConfig.parse({
  org: 'acme',
  device: { id: 'edge-1' },
  cameras: [{ id: 'door', input: '/x.mp4' }],
  live: { push: { restartBackoffSeconds: 1 } },
});

const start = (over: Partial<StartStreamV1> = {}): StartStreamV1 => ({
  schema: 'command.v1',
  type: 'StartStream',
  commandId: 'c-1',
  orgId: 'acme',
  deviceId: 'edge-1',
  cameraId: 'door',
  streamId: 's-1',
  issuedAt: 0,
  publishUrl: 'rtmp://127.0.0.1/live/s-1?key=k',
  annotated: false,
  ttlSeconds: 30,
  ...over,
});

async function setup(transport = new MemoryBus()) {
  const bus = new Bus(transport);
  const acks: CommandAckV1[] = [];
  await bus.subscribe('commandAcks', { group: 't' }, async (a) => {
    acks.push(a);
  });
  const clock = new ManualClock(0);
  const pushes: FakePush[] = [];
  const agent = new StreamingAgent({
    config,
    bus,
    clock,
    random: () => 0.5,
    createPush: () => {
      const p = new FakePush();
      pushes.push(p);
      return p;
    },
  });
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  return { agent, bus, acks, clock, pushes, settle };
}

describe('streaming agent (commands, TTL, restarts)', () => {
  test('ignores commands addressed to another device or organisation', async () => {
    const { agent, acks, pushes, settle } = await setup();
    await agent.handle(start({ deviceId: 'edge-2' }));
    await agent.handle(start({ orgId: 'globex' }));
    await settle();
    assert.equal(agent.counters.ignored, 2);
    assert.equal(pushes.length, 0);
    assert.equal(acks.length, 0);
  });

  test('stops the push when the TTL expires without renewal; a renewal extends it', async () => {
    const { agent, acks, clock, pushes, settle } = await setup();
    await agent.handle(start());
    pushes[0]!.run();
    await settle();
    assert.deepEqual(
      acks.map((a) => a.status),
      ['accepted', 'started'],
    );
    clock.advance(20_000);
    await agent.handle(start({ commandId: 'c-2' })); // renewal: same stream, new command
    clock.advance(20_000);
    await settle();
    assert.equal(pushes[0]!.stopped, false, 'renewed at 20 s: still wanted at 40 s');
    assert.equal(pushes.length, 1, 'a renewal does not start a second push');
    clock.advance(11_000);
    await settle();
    assert.equal(pushes[0]!.stopped, true);
    const last = acks.at(-1)!;
    assert.equal(last.status, 'stopped');
    assert.equal(last.reason, 'ttl_expired');
    assert.equal(last.commandId, 'c-2', 'answers the latest command');
    assert.deepEqual(agent.streamStates(), {});
  });

  test('a replayed command older than its time-to-live starts nothing', async () => {
    const { agent, acks, clock, pushes, settle } = await setup();
    clock.advance(10 * 60_000); // e.g. a device that resumed its consumer group after a restart
    await agent.handle(start({ issuedAt: 0 }));
    await settle();
    assert.equal(pushes.length, 0);
    assert.equal(agent.counters.stale, 1);
    assert.equal(acks.at(-1)?.status, 'failed');
    assert.equal(acks.at(-1)?.reason, 'ttl_expired');
    await agent.handle(start({ commandId: 'c-fresh', issuedAt: clock.now() - 1_000 }));
    await settle();
    assert.equal(pushes.length, 1, 'a fresh command still starts');
  });

  test('a broken push is restarted with backoff while wanted; a refused key ends it', async () => {
    const { agent, acks, clock, pushes, settle } = await setup();
    await agent.handle(start());
    pushes[0]!.run();
    pushes[0]!.fail({ reason: 'publish_failed', message: 'the push broke', wasRunning: true });
    await settle();
    assert.equal(agent.streamStates()['s-1'], 'restarting');
    clock.advance(1000);
    assert.equal(pushes.length, 2, 'restarted after the backoff');
    pushes[1]!.run();
    await settle();
    assert.equal(acks.filter((a) => a.status === 'started').length, 2);
    pushes[1]!.fail({ reason: 'publish_refused', message: 'refused', wasRunning: false });
    await settle();
    assert.equal(acks.at(-1)?.status, 'failed');
    assert.equal(acks.at(-1)?.reason, 'publish_refused');
    clock.advance(60_000);
    assert.equal(pushes.length, 2, 'not restarted');
  });
});

describe('streaming agent without a bus at start', () => {
  /** The in-process bus, refusing the commands consumer while `down` (a device started while Kafka is away). */
  class UnreachableAtFirst extends MemoryBus {
    down = true;
    attempts = 0;
    override consume(...args: Parameters<MemoryBus['consume']>) {
      if (!args[0].topics.includes('commands')) return super.consume(...args);
      this.attempts++;
      if (this.down) return Promise.reject(new Error('broker transport failure'));
      return super.consume(...args);
    }
  }

  test('the device starts at once, keeps trying to listen for commands, and obeys them once the bus is back', async () => {
    const transport = new UnreachableAtFirst();
    const { agent, bus, clock, pushes, settle } = await setup(transport);
    await agent.start(); // does not throw, does not wait for the bus
    assert.equal(agent.listeningForCommands, false);
    clock.advance(1000);
    await settle();
    assert.equal(transport.attempts, 2, 'tried again after 1 s');
    clock.advance(2000);
    await settle();
    assert.equal(transport.attempts, 3, 'then after 2 s');
    transport.down = false;
    clock.advance(4000);
    await settle();
    assert.equal(agent.listeningForCommands, true);
    await bus.publish('commands', start({ issuedAt: clock.now() }));
    await settle();
    assert.equal(pushes.length, 1, 'a command reaches the agent');
    await agent.stop();
  });

  test('stopping while it waits to try again ends the retries', async () => {
    const transport = new UnreachableAtFirst();
    const clock = new ManualClock(0);
    const agent = new StreamingAgent({ config, bus: new Bus(transport), clock, random: () => 0.5 });
    await agent.start();
    await agent.stop();
    clock.advance(60_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(transport.attempts, 1);
    assert.equal(agent.listeningForCommands, false);
  });
});
