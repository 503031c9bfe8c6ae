import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BusTransport, OutgoingRecord, TransportSubscription } from '@iceberg/bus';
import { OutboxTransport } from './outbox-transport.ts';

/** A transport whose link can be cut: records are refused while it is down. */
class LinkTransport implements BusTransport {
  readonly name = 'link';
  up = true;
  attempts = 0;
  readonly delivered: OutgoingRecord[] = [];
  async produce(records: OutgoingRecord[]): Promise<void> {
    this.attempts++;
    if (!this.up) throw new Error('broker unreachable');
    this.delivered.push(...records);
  }
  async consume(): Promise<TransportSubscription> {
    return { close: async () => undefined };
  }
  async close(): Promise<void> {}
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'iceberg-outbox-'));
  dirs.push(d);
  return d;
}

const shedOrder = ['iceberg.detections', 'iceberg.device-status'];
const rec = (topic: string, i: number, pad = 0): OutgoingRecord => ({
  topic: `iceberg.${topic}`,
  key: `org/cam-${i % 3}`,
  value: Buffer.from(JSON.stringify({ i, topic, pad: 'x'.repeat(pad) })),
  headers: { 'iceberg-schema': `${topic}.v1` },
});
const indexOf = (r: OutgoingRecord) => (JSON.parse(r.value.toString()) as { i: number }).i;

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('outbox', () => {
  test('hands records over in the order they were written, then removes them from disk', async () => {
    const inner = new LinkTransport();
    const dir = tempDir();
    const outbox = new OutboxTransport(inner, { dir, maxBytes: 10 << 20, shedOrder, retryMinMs: 20 });
    for (let i = 0; i < 30; i++)
      await outbox.produce([rec(i % 2 ? 'tracks' : 'detections', i), rec('camera-status', 1000 + i)]);
    await until('delivery', () => inner.delivered.length === 60);
    const tracksAndDetections = inner.delivered
      .filter((r) => !r.topic.endsWith('camera-status'))
      .map(indexOf);
    assert.deepEqual(tracksAndDetections, [...Array(30).keys()]);
    assert.deepEqual(inner.delivered[1]!.headers, { 'iceberg-schema': 'camera-status.v1' });
    await until('acknowledgement', () => outbox.stats().pendingMessages === 0);
    assert.equal(outbox.stats().delivered, 60);
    await outbox.close();
  });

  test('keeps working with the link down and sends everything, in order, when it returns', async () => {
    const inner = new LinkTransport();
    inner.up = false;
    const outbox = new OutboxTransport(inner, {
      dir: tempDir(),
      maxBytes: 10 << 20,
      shedOrder,
      retryMinMs: 20,
      retryMaxMs: 50,
    });
    for (let i = 0; i < 200; i++) await outbox.produce([rec('tracks', i)]);
    const down = outbox.stats();
    assert.equal(down.pendingMessages, 200);
    assert.ok(down.pendingBytes > 200 * 30);
    assert.ok(down.oldestPendingAt !== null && down.oldestPendingAt <= Date.now());
    await until('a failed attempt', () => inner.attempts > 0 && !outbox.stats().linkUp);
    inner.up = true;
    await until('the backlog drained', () => outbox.stats().pendingMessages === 0);
    assert.deepEqual(inner.delivered.map(indexOf), [...Array(200).keys()]);
    assert.equal(outbox.stats().oldestPendingAt, null);
    await outbox.close();
  });

  test('what was written survives a restart and is sent by the next process', async () => {
    const dir = tempDir();
    const first = new LinkTransport();
    first.up = false;
    const a = new OutboxTransport(first, {
      dir,
      maxBytes: 10 << 20,
      shedOrder,
      segmentBytes: 4096,
      closeGraceMs: 0,
    });
    for (let i = 0; i < 150; i++) await a.produce([rec(i % 3 ? 'detections' : 'tracks', i)]);
    await a.close();
    assert.equal(first.delivered.length, 0);
    const second = new LinkTransport();
    const b = new OutboxTransport(second, { dir, maxBytes: 10 << 20, shedOrder, segmentBytes: 4096 });
    assert.equal(b.stats().recovered.records, 150);
    await until('the kept messages sent', () => second.delivered.length === 150);
    assert.deepEqual(second.delivered.map(indexOf), [...Array(150).keys()]);
    await until('acknowledged', () => b.stats().pendingMessages === 0);
    await b.close();
    // Nothing is sent twice by a third start.
    const third = new LinkTransport();
    const c = new OutboxTransport(third, { dir, maxBytes: 10 << 20, shedOrder, segmentBytes: 4096 });
    assert.equal(c.stats().pendingMessages, 0);
    await c.close();
    assert.equal(third.delivered.length, 0);
  });

  test('a write torn by a power cut is cut off; every whole record before it is sent', async () => {
    const dir = tempDir();
    const first = new LinkTransport();
    first.up = false;
    const a = new OutboxTransport(first, { dir, maxBytes: 10 << 20, shedOrder, closeGraceMs: 0 });
    for (let i = 0; i < 20; i++) await a.produce([rec('tracks', i)]);
    await a.close();
    const qdir = join(dir, 'iceberg.tracks');
    const seg = readdirSync(qdir).find((n) => n.endsWith('.seg'))!;
    const before = statSync(join(qdir, seg)).size;
    // Half a frame: a length that promises more than was written.
    appendFileSync(join(qdir, seg), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 123, 34]));
    const second = new LinkTransport();
    const b = new OutboxTransport(second, { dir, maxBytes: 10 << 20, shedOrder });
    assert.equal(b.stats().recovered.truncatedBytes, 10);
    await until('sent', () => second.delivered.length === 20);
    assert.deepEqual(second.delivered.map(indexOf), [...Array(20).keys()]);
    // New records go after the cut, readable.
    await b.produce([rec('tracks', 20)]);
    await until('the new record sent', () => second.delivered.length === 21);
    assert.equal(indexOf(second.delivered[20]!), 20);
    assert.ok(statSync(join(qdir, seg)).size >= before || readdirSync(qdir).length >= 1);
    await b.close();
  });

  test('records acknowledged to the producer survive the process being killed', async () => {
    const dir = tempDir();
    const script = fileURLToPath(new URL('./outbox-kill.fixture.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) =>
      child.on('exit', (c, signal) => resolve(signal ? -9 : c)),
    );
    assert.equal(code, -9, 'the fixture kills itself with SIGKILL');
    const acknowledged = Number(/acknowledged (\d+)/.exec(out)?.[1]);
    assert.ok(acknowledged >= 100, `the fixture wrote ${acknowledged}`);
    const inner = new LinkTransport();
    const b = new OutboxTransport(inner, { dir, maxBytes: 10 << 20, shedOrder });
    await until('sent', () => inner.delivered.length >= acknowledged);
    const got = inner.delivered.map(indexOf);
    assert.deepEqual(got.slice(0, acknowledged), [...Array(acknowledged).keys()]);
    await b.close();
  });

  test('a full quota sheds raw detections first, then refuses only what cannot fit', async () => {
    const inner = new LinkTransport();
    inner.up = false;
    const maxBytes = 64 * 1024;
    const outbox = new OutboxTransport(inner, {
      dir: tempDir(),
      maxBytes,
      shedOrder,
      segmentBytes: 4096,
      retryMinMs: 1000,
    });
    // Detections fill the quota: the oldest detections make way for newer ones.
    for (let i = 0; i < 400; i++) await outbox.produce([rec('detections', i, 200)]);
    let s = outbox.stats();
    assert.ok(s.diskBytes <= maxBytes, `${s.diskBytes} ≤ ${maxBytes}`);
    assert.ok(s.shedByTopic['iceberg.detections']! > 0);
    // Track events push detections out, never the other way round.
    for (let i = 0; i < 150; i++) await outbox.produce([rec('tracks', 1000 + i, 200)]);
    s = outbox.stats();
    assert.equal(s.shedByTopic['iceberg.tracks'], undefined, 'no track event shed while detections remain');
    assert.ok(s.diskBytes <= maxBytes);
    // More track events than the quota holds: once no detection is left, the new ones are refused.
    for (let i = 0; i < 400; i++) await outbox.produce([rec('tracks', 2000 + i, 200)]);
    s = outbox.stats();
    assert.ok(s.diskBytes <= maxBytes);
    assert.ok(s.shedByTopic['iceberg.tracks']! > 0);
    assert.equal(
      s.shed,
      Object.values(s.shedByTopic).reduce((a, b) => a + b, 0),
    );
    inner.up = true;
    await until('drained', () => outbox.stats().pendingMessages === 0, 20_000);
    const tracks = inner.delivered.filter((r) => r.topic === 'iceberg.tracks').map(indexOf);
    // Every track event of the first 150 arrived, in order.
    assert.deepEqual(
      tracks.filter((i) => i < 2000),
      [...Array(150).keys()].map((i) => 1000 + i),
    );
    assert.equal(tracks.length + s.shedByTopic['iceberg.tracks']!, 550);
    await outbox.close();
  });

  test('a topic name that could escape the outbox directory is refused', async () => {
    const outbox = new OutboxTransport(new LinkTransport(), { dir: tempDir(), maxBytes: 1 << 20, shedOrder });
    await assert.rejects(
      outbox.produce([{ topic: '../etc', key: 'k', value: Buffer.from('{}'), headers: {} }]),
      /not a valid topic name/,
    );
    await outbox.close();
  });
});
