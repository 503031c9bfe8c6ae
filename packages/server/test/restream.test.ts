import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { silentLogger, systemClock } from '@iceberg/common';
import { RestreamConfig } from '@iceberg/config';
import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import { UrlSigner } from '../src/auth/url-signer.ts';
import { buildApi } from '../src/http/api.ts';
import { NginxRestreamer, startRestreamer } from '../src/live/nginx-restreamer.ts';
import { createHarness, type Harness } from './api-harness.ts';

const run = promisify(execFile);
const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
const sample = join(root, 'assets/samples/vtest.mp4');

async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A device's push: the sample, looped at its own rate, copied to RTMP. */
function push(url: string): ChildProcess {
  return spawn(
    'ffmpeg',
    ['-v', 'error', '-re', '-stream_loop', '-1', '-i', sample, '-c', 'copy', '-f', 'flv', url],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
}

function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

async function ffprobeFrames(
  input: string,
  seconds?: number,
): Promise<{ codec: string; width: number; frames: number }> {
  const { stdout } = await run(
    'ffprobe',
    [
      ...(seconds ? ['-read_intervals', `%+${seconds}`] : []),
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,width,nb_read_frames',
      '-of',
      'json',
      input,
    ],
    { timeout: 30_000 },
  );
  const s = (
    JSON.parse(stdout) as { streams: { codec_name: string; width: number; nb_read_frames: string }[] }
  ).streams[0]!;
  return { codec: s.codec_name, width: s.width, frames: Number(s.nb_read_frames) };
}

describe('re-streaming server (real nginx, real ffmpeg)', { timeout: 120_000 }, () => {
  let h: Harness;
  let restreamer: NginxRestreamer;
  let app: FastifyInstance;
  let base: string;
  const pushes: ChildProcess[] = [];

  before(async () => {
    h = await createHarness();
    restreamer = new NginxRestreamer({
      config: RestreamConfig.parse({ rtmpPort: 0 }),
      dataDir: mkdtempSync(join(tmpdir(), 'iceberg-restream-')),
      signer: UrlSigner.random(),
      logger: silentLogger(),
      ffmpegPath: 'ffmpeg',
      clock: systemClock,
    });
    await restreamer.start();
    app = await buildApi({ ...h.deps, clock: systemClock, restream: restreamer });
    base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
  });

  after(async () => {
    for (const p of pushes) p.kill('SIGKILL');
    await app?.close();
    await restreamer?.close();
    await h?.close();
  });

  it('refuses a publish without the stream key, and serves nothing for it', async () => {
    const { publishUrl } = restreamer.openStream({
      orgId: h.orgs.a,
      cameraId: 'cam1',
      streamId: 'refused-1',
    });
    const wrong = push(publishUrl.replace(/key=[^&]+/, 'key=not-the-key'));
    const none = push(publishUrl.replace(/\?key=.*$/, ''));
    const unknown = push(publishUrl.replace('/live/refused-1', '/live/never-opened'));
    pushes.push(wrong, none, unknown);
    const codes = await Promise.all([exited(wrong), exited(none), exited(unknown)]);
    for (const code of codes) assert.notEqual(code, 0, 'ffmpeg must fail to publish');
    assert.equal(restreamer.isPublishing('refused-1'), false);
    assert.equal(restreamer.hasFiles('refused-1'), false);
    const { hls } = restreamer.playbackUrls('refused-1', Date.now() + 60_000);
    const r = await fetch(base + hls);
    assert.equal(r.status, 404, 'no playlist for a stream nobody published');
    restreamer.closeStream('refused-1');
  });

  describe('a stream published with its key', () => {
    const streamId = 'live-a-1';
    let device: ChildProcess;
    let urls: { hls: string; ws: string };

    before(async () => {
      const started = new Promise<void>((resolve) =>
        restreamer.on('publishStarted', (s) => s.streamId === streamId && resolve()),
      );
      const { publishUrl } = restreamer.openStream({ orgId: h.orgs.a, cameraId: 'cam1', streamId });
      assert.match(publishUrl, /^rtmp:\/\/127\.0\.0\.1:\d+\/live\/live-a-1\?key=[A-Za-z0-9_-]{20,}$/);
      device = push(publishUrl);
      pushes.push(device);
      await started;
      urls = restreamer.playbackUrls(streamId, Date.now() + 10 * 60_000);
    });

    it('serves an HLS playlist under its signed URL whose segments ffprobe decodes', async () => {
      const r = await fetch(base + urls.hls);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /mpegurl/);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const playlist = await r.text();
      const segments = playlist.split('\n').filter((l) => /^\d+\.ts$/.test(l));
      assert.ok(segments.length >= 1, playlist);
      const probe = await ffprobeFrames(`${base}${urls.hls.replace('index.m3u8', segments[0]!)}`);
      assert.equal(probe.codec, 'h264');
      assert.equal(probe.width, 768);
      assert.ok(probe.frames >= 5, `a segment holds frames (${probe.frames})`);
      // A player following the playlist itself (ffprobe reads HLS) decodes video as well.
      const whole = await ffprobeFrames(base + urls.hls, 2);
      assert.ok(whole.frames >= 5);
    });

    it('refuses another organisation, forged, expired and path-escaping links', async () => {
      const asB = await fetch(base + urls.hls, {
        headers: { authorization: `Bearer ${await h.login('viewer@org-b.test')}` },
      });
      assert.equal(asB.status, 403);
      assert.match(
        ((await asB.json()) as { error: { message: string } }).error.message,
        /another organisation/,
      );
      const asA = await fetch(base + urls.hls, {
        headers: { authorization: `Bearer ${await h.login('viewer@org-a.test')}` },
      });
      assert.equal(asA.status, 200);
      const token = urls.hls.split('/')[3]!;
      const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
      assert.equal((await fetch(`${base}/live/hls/${forged}/index.m3u8`)).status, 403);
      const expired = restreamer.playbackUrls(streamId, Date.now() - 1);
      assert.equal((await fetch(base + expired.hls)).status, 403);
      const segment = await fetch(`${base}/live/hls/${forged}/0.ts`);
      assert.equal(segment.status, 403);
      for (const name of ['..%2Findex.m3u8', '..%2F..%2Fnginx.conf', 'index.m3u8.ts']) {
        const res = await fetch(`${base}/live/hls/${token}/${name}`);
        assert.ok(res.status === 400 || res.status === 404, `${name}: ${res.status}`);
      }
      assert.equal((await fetch(`${base}/live/ws/${forged}`, { headers: {} })).status, 403);
    });

    it('relays init + fragments over the WebSocket that ffprobe decodes', async () => {
      const received: Buffer[] = [];
      let codec = '';
      const ws = new WebSocket(base.replace('http', 'ws') + urls.ws);
      ws.on('message', (data, isBinary) => {
        if (isBinary) received.push(Buffer.from(data as Buffer));
        else codec = (JSON.parse(String(data)) as { codec: string }).codec;
      });
      await waitFor('20 fragments', () => received.length >= 21, 30_000);
      assert.match(codec, /^avc1\.[0-9a-f]{6}$/);
      assert.equal(received[0]!.toString('latin1', 4, 8), 'ftyp', 'the init segment comes first');
      assert.equal(received[1]!.toString('latin1', 4, 8), 'moof');
      // A second viewer joins a running relay and starts at a keyframe at once.
      const second: Buffer[] = [];
      const ws2 = new WebSocket(base.replace('http', 'ws') + urls.ws);
      ws2.on('message', (data, isBinary) => isBinary && second.push(Buffer.from(data as Buffer)));
      await waitFor('the second viewer', () => second.length >= 11, 15_000);
      ws.close();
      ws2.close();
      const file = join(mkdtempSync(join(tmpdir(), 'iceberg-relay-')), 'relay.mp4');
      writeFileSync(file, Buffer.concat(received));
      const probe = await ffprobeFrames(file);
      assert.equal(probe.codec, 'h264');
      assert.ok(probe.frames >= 20, `decoded ${probe.frames} frames`);
      const file2 = `${file}.2.mp4`;
      writeFileSync(file2, Buffer.concat(second));
      assert.ok((await ffprobeFrames(file2)).frames >= 10);
      // The relay's ffmpeg stops when its last viewer leaves.
      await waitFor('the relay to stop', () => !restreamer.relayRunning(streamId), 10_000);
    });

    it('closing the stream drops the publisher, removes the HLS files, and the links stop working', async () => {
      const folder = restreamer.hlsFolder(streamId);
      assert.ok(existsSync(join(folder, 'index.m3u8')));
      const ended = new Promise<void>((resolve) =>
        restreamer.on('publishEnded', (s) => s.streamId === streamId && resolve()),
      );
      restreamer.closeStream(streamId);
      await ended;
      assert.equal(restreamer.isPublishing(streamId), false);
      const code = await Promise.race([
        exited(device),
        new Promise((r) => setTimeout(() => r('still running'), 15_000)),
      ]);
      assert.notEqual(code, 'still running', 'nginx drops the publisher of a closed stream');
      await waitFor('the HLS files to go', () => !existsSync(folder), 5000);
      // Nothing is written any more.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(existsSync(folder), false);
      assert.equal((await fetch(base + urls.hls)).status, 404);
      assert.equal(statSync(restreamer.hlsFolder('x').replace(/x$/, '')).isDirectory(), true);
    });
  });
});

describe('re-streaming server without nginx', () => {
  it('is a clear, logged 503 for live view while the rest of the API runs', async () => {
    const h = await createHarness();
    try {
      const errors: string[] = [];
      const logger = silentLogger();
      logger.error = ((obj: { err?: string }) => errors.push(obj.err ?? '')) as typeof logger.error;
      const noModule = await startRestreamer({
        config: RestreamConfig.parse({ rtmpPort: 0, modulePath: '/nonexistent/ngx_rtmp_module.so' }),
        dataDir: mkdtempSync(join(tmpdir(), 'iceberg-restream-')),
        signer: UrlSigner.random(),
        logger,
        ffmpegPath: 'ffmpeg',
      });
      assert.match(noModule.unavailableReason ?? '', /libnginx-mod-rtmp/);
      assert.match(errors.join(), /libnginx-mod-rtmp/);
      const noNginx = await startRestreamer({
        config: RestreamConfig.parse({ rtmpPort: 0, nginxPath: 'no-such-nginx-binary' }),
        dataDir: mkdtempSync(join(tmpdir(), 'iceberg-restream-')),
        signer: UrlSigner.random(),
        logger,
        ffmpegPath: 'ffmpeg',
      });
      assert.match(noNginx.unavailableReason ?? '', /nginx/);
      assert.throws(() => noNginx.openStream({ orgId: 'org-a', cameraId: 'c', streamId: 's' }), {
        code: 'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
      });
      const app = await buildApi({ ...h.deps, restream: noNginx });
      try {
        const r = await app.inject({ method: 'GET', url: '/live/hls/v1.abcdefghijk.xyz/index.m3u8' });
        assert.equal(r.statusCode, 503);
        assert.match(r.json().error.message, /nginx/);
        assert.equal((await app.inject({ method: 'GET', url: '/api/health' })).statusCode, 200);
      } finally {
        await app.close();
      }
    } finally {
      await h.close();
    }
  });
});
