// The watchdog against the real ffmpeg: a camera that connects and then stops delivering.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CameraSource } from '../../src/camera/index.ts';
import { alive, ffmpeg, tempDir, VTEST_MP4, watch } from './helpers.ts';

const tmp = tempDir();
let ts: Buffer;

before(() => {
  const file = join(tmp.dir, 'head.ts');
  ffmpeg(['-i', VTEST_MP4, '-t', '8', '-c', 'copy', '-f', 'mpegts', file]);
  ts = readFileSync(file);
});
after(() => tmp.remove());

test('a stream that stalls after connecting: online → offline "stalled" → restarted → online again', async () => {
  // Serves 8 s of MPEG-TS (more than ffmpeg's 5 s of probing), then keeps the connection open without sending anything more.
  const open = new Set<ServerResponse>();
  let requests = 0;
  const server = createHttpServer((_req, res) => {
    requests++;
    open.add(res);
    res.on('close', () => open.delete(res));
    res.writeHead(200, { 'content-type': 'video/mp2t' });
    res.write(ts);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const source = new CameraSource({
    cameraId: 'stall',
    input: `http://127.0.0.1:${port}/cam.ts`,
    fps: 2,
    stallTimeoutMs: 1_500,
    ioTimeoutMs: 30_000, // the watchdog, not ffmpeg's socket timeout, must notice
    initialBackoffMs: 300,
    maxBackoffMs: 300,
    killGraceMs: 1_000,
  });
  const w = watch(source);
  let frames = 0;
  source.on('frame', () => frames++);
  try {
    source.start();
    await w.until((s) => s.state === 'online', 10_000);
    const pid = source.pid!;
    const stalled = await w.until((s) => s.state === 'offline', 10_000);
    assert.equal(stalled.problem?.code, 'stalled');
    assert.match(stalled.problem!.message, /no new frame for 1\.5 s/);
    assert.ok(frames >= 3, `frames before the stall: ${frames}`);
    await w.until((s) => s.state === 'connecting' && s.attempt === 1, 5_000);
    for (let i = 0; i < 200 && (source.pid === undefined || source.pid === pid); i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.notEqual(source.pid, pid);
    assert.equal(alive(pid), false, 'the stalled ffmpeg was ended before the next one started');
    await w.until((s) => s.state === 'online' && s.at > stalled.at, 10_000);
    assert.equal(requests, 2);
  } finally {
    await source.stop();
    for (const res of open) res.destroy();
    server.close();
  }
});

test('a server that accepts and never sends a frame: offline "timeout" within connectTimeoutMs', async () => {
  const server = createServer((c) => c.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const source = new CameraSource({
    cameraId: 'silent',
    input: `rtsp://127.0.0.1:${port}/cam`,
    connectTimeoutMs: 1_000,
    ioTimeoutMs: 30_000,
    initialBackoffMs: 5_000,
  });
  const w = watch(source);
  try {
    const t0 = Date.now();
    source.start();
    const s = await w.until((x) => x.state === 'offline', 5_000);
    assert.equal(s.problem?.code, 'timeout');
    assert.match(s.problem!.message, /no video frame within 1 s/);
    assert.ok(Date.now() - t0 < 2_500);
  } finally {
    await source.stop();
    server.close();
  }
});
