// What a user sees when a camera cannot be read, against the real ffmpeg.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { IcebergError } from '@iceberg/common';
import { CameraSource, type CameraSourceOptions, type CameraSourceStatus } from '../../src/camera/index.ts';
import { alive, closedPort, ffmpeg, tempDir, watch } from './helpers.ts';

const tmp = tempDir();
const files = {
  corrupt: join(tmp.dir, 'corrupt.mp4'),
  empty: join(tmp.dir, 'empty.mp4'),
  audio: join(tmp.dir, 'audio-only.m4a'),
  missing: join(tmp.dir, 'missing.mp4'),
};

before(() => {
  writeFileSync(files.corrupt, noise(200_000, 42));
  writeFileSync(files.empty, '');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=2', files.audio]);
});
after(() => tmp.remove());

/** Random-looking bytes, the same every run (truly random bytes are, now and then, a valid h263). */
function noise(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** Starts a live source and returns its first offline status, then stops it. */
async function firstProblem(
  options: Partial<CameraSourceOptions> & { input: string },
): Promise<CameraSourceStatus> {
  const source = new CameraSource({ cameraId: 'cam', initialBackoffMs: 200, maxBackoffMs: 400, ...options });
  const w = watch(source);
  try {
    source.start();
    return await w.until((s) => s.state === 'offline' && s.problem !== null, 10_000);
  } finally {
    await source.stop();
  }
}

test('an unreachable camera: offline "unreachable" with a retry time, then retried', async () => {
  const port = await closedPort();
  const source = new CameraSource({
    cameraId: 'gate',
    input: `rtsp://admin:hunter2@127.0.0.1:${port}/cam`,
    initialBackoffMs: 200,
    maxBackoffMs: 400,
  });
  const w = watch(source);
  try {
    source.start();
    const offline = await w.until((s) => s.state === 'offline');
    assert.equal(offline.problem?.code, 'unreachable');
    assert.match(offline.problem!.message, /Connection refused/);
    assert.doesNotMatch(offline.problem!.message, /hunter2/);
    assert.equal(offline.attempt, 1);
    assert.ok(offline.retryAt! > offline.at && offline.retryAt! <= offline.at + 400);
    const retry = await w.until((s) => s.state === 'connecting' && s.attempt === 1, 5_000);
    assert.ok(retry.at >= offline.retryAt! - 5);
    assert.equal(retry.problem?.code, 'unreachable');
    const second = await w.until((s) => s.state === 'offline' && s.attempt === 2, 5_000);
    assert.equal(second.problem?.code, 'unreachable');
  } finally {
    await source.stop();
  }
});

test('a corrupt file (random bytes) and an empty file: invalid_input, said plainly', async () => {
  for (const input of [files.corrupt, files.empty]) {
    const s = await firstProblem({ input });
    assert.equal(s.problem?.code, 'invalid_input', input);
    assert.match(
      s.problem!.message,
      /^Not a readable video: .*\.mp4: Invalid data found when processing input$/,
    );
  }
});

test('a missing file: not_found, naming the file', async () => {
  const s = await firstProblem({ input: files.missing });
  assert.equal(s.problem?.code, 'not_found');
  assert.match(s.problem!.message, /missing\.mp4: No such file or directory/);
});

test('an audio-only file: codec (no video stream)', async () => {
  const s = await firstProblem({ input: files.audio });
  assert.equal(s.problem?.code, 'codec');
  assert.match(s.problem!.message, /no video stream/);
});

test('no ffmpeg at the configured path: ffmpeg_missing', async () => {
  const s = await firstProblem({ input: files.corrupt, ffmpegPath: '/nonexistent/ffmpeg' });
  assert.equal(s.problem?.code, 'ffmpeg_missing');
  assert.match(s.problem!.message, /\/nonexistent\/ffmpeg.*ENOENT/);
});

test('a camera that refuses the password: auth', async () => {
  // A minimal RTSP server that answers OPTIONS and refuses DESCRIBE.
  const server: Server = createServer((c) => {
    let buf = '';
    c.on('error', () => {});
    c.on('data', (d) => {
      buf += d.toString();
      for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
        const req = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const cseq = /CSeq: *(\d+)/i.exec(req)?.[1] ?? '1';
        c.write(
          req.startsWith('OPTIONS')
            ? `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nPublic: DESCRIBE, SETUP, PLAY\r\n\r\n`
            : `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Basic realm="cam"\r\n\r\n`,
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const s = await firstProblem({ input: `rtsp://admin:wrong@127.0.0.1:${port}/cam` });
    assert.equal(s.problem?.code, 'auth');
    assert.match(s.problem!.message, /401 Unauthorized/);
    assert.doesNotMatch(s.problem!.message, /wrong/);
  } finally {
    server.close();
  }
});

test('offline mode: a bad file ends the run with a coded error and no retry', async () => {
  const source = new CameraSource({
    cameraId: 'f',
    input: files.empty,
    mode: 'offline',
    initialBackoffMs: 50,
  });
  const w = watch(source);
  source.start();
  await assert.rejects(
    source.done(),
    (e: unknown) => e instanceof IcebergError && e.code === 'ICEBERG_ERR_CAMERA_INPUT',
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(
    w.statuses.map((s) => s.state),
    ['connecting', 'offline'],
  );
  const pid = source.pid;
  assert.equal(pid, undefined);
  await source.stop();
});

test('stop() ends ffmpeg even while it is connecting to a silent server', async () => {
  const server = createServer((c) => c.on('error', () => {})); // accepts, never answers
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const source = new CameraSource({
    cameraId: 's',
    input: `rtsp://127.0.0.1:${port}/cam`,
    ioTimeoutMs: 30_000,
  });
  try {
    source.start();
    for (let i = 0; i < 50 && source.pid === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    const pid = source.pid!;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(alive(pid));
    await source.stop();
    assert.equal(alive(pid), false);
  } finally {
    server.close();
  }
});
