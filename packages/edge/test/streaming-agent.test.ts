import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Bus, MemoryBus } from '@iceberg/bus';
import { silentLogger } from '@iceberg/common';
import { IcebergConfig } from '@iceberg/config';
import type { CommandAckV1, CommandV1 } from '@iceberg/contracts';
import { StreamingAgent } from '../src/live/index.ts';
import { startRtspCamera } from './helpers/rtsp-camera.ts';

const ROOT = process.env.ICEBERG_ROOT ?? new URL('../../..', import.meta.url).pathname;
const SAMPLE = join(ROOT, 'assets/samples/vtest.mp4');
const GOOD_KEY = 'k-good-0123456789';

/** A free TCP port on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A minimal re-streaming server for this test: Debian's nginx with the RTMP module, whose
 * on_publish callback (a tiny HTTP server here) accepts only GOOD_KEY.
 */
async function startRtmpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'iceberg-rtmp-'));
  const callback: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const key = new URLSearchParams(body).get('key');
      res.statusCode = key === GOOD_KEY ? 200 : 403;
      res.end();
    });
  });
  await new Promise<void>((r) => callback.listen(0, '127.0.0.1', r));
  const cbPort = (callback.address() as { port: number }).port;
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      'load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      'error_log stderr warn;',
      'events { worker_connections 64; }',
      `rtmp { server { listen 127.0.0.1:${port}; application live { live on;`,
      `  on_publish http://127.0.0.1:${cbPort}/publish; notify_method post; } } }`,
    ].join('\n'),
  );
  const nginx = spawn(
    'nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise((r) => nginx.once('exit', r));
  await until(
    () => spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0,
    10_000,
    'nginx to listen',
  );
  return {
    port,
    close: async () => {
      nginx.kill('SIGTERM');
      await exited;
      callback.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * ffprobe of a live RTMP stream: the first video stream's codec and size, or null. Asynchronous:
 * the annotated push is fed by this process, which must keep running meanwhile.
 */
async function probe(url: string): Promise<{ codec: string; width: number; height: number } | null> {
  const child = spawn(
    'ffprobe',
    [
      '-v',
      'error',
      '-rw_timeout',
      '8000000',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,width,height',
      '-of',
      'json',
      url,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise((r) => child.once('close', r));
  clearTimeout(timer);
  if (code !== 0) return null;
  const s = (JSON.parse(out) as { streams?: Array<{ codec_name: string; width: number; height: number }> })
    .streams?.[0];
  return s ? { codec: s.codec_name, width: s.width, height: s.height } : null;
}

describe('streaming agent: real ffmpeg pushes to a real nginx-rtmp', { timeout: 120_000 }, () => {
  let rtmp: { port: number; close(): Promise<void> };
  let bus: Bus;
  let agent: StreamingAgent;
  const acks: CommandAckV1[] = [];
  let n = 0;

  const config = IcebergConfig.parse({
    org: 'acme',
    device: { id: 'edge-1' },
    cameras: [{ id: 'door', input: SAMPLE, loop: true }],
    live: { push: { startTimeoutSeconds: 20, restartBackoffSeconds: 0.5 } },
  });

  const command = (c: Partial<CommandV1> & Pick<CommandV1, 'type' | 'streamId'>): CommandV1 =>
    ({
      schema: 'command.v1',
      commandId: `cmd-${++n}`,
      orgId: 'acme',
      deviceId: 'edge-1',
      cameraId: 'door',
      issuedAt: Date.now(),
      ...(c.type === 'StartStream' && {
        publishUrl: `rtmp://127.0.0.1:${rtmp.port}/live/${c.streamId}?key=${GOOD_KEY}`,
        annotated: false,
        ttlSeconds: 60,
      }),
      ...c,
    }) as CommandV1;
  const acksOf = (commandId: string) => acks.filter((a) => a.commandId === commandId).map((a) => a.status);

  before(async () => {
    rtmp = await startRtmpServer();
    bus = new Bus(new MemoryBus());
    await bus.subscribe('commandAcks', { group: 'test' }, async (a) => {
      acks.push(a);
    });
    agent = new StreamingAgent({ config, bus, logger: silentLogger() });
    await agent.start();
  });
  after(async () => {
    const pids = agent.pids;
    await agent.stop();
    for (const pid of pids) assert.equal(alive(pid), false, `push process ${pid} left behind`);
    await rtmp.close();
  });

  test('copy push: started, the published stream is readable, StopStream ends the process', async () => {
    const start = command({ type: 'StartStream', streamId: 's-copy' });
    await bus.publish('commands', start);
    await until(() => acksOf(start.commandId).includes('started'), 30_000, 'the started ack');
    assert.deepEqual(acksOf(start.commandId), ['accepted', 'started']);
    const pids = agent.pids;
    assert.equal(pids.length, 1, 'one ffmpeg: the copy push');
    const seen = await probe(`rtmp://127.0.0.1:${rtmp.port}/live/s-copy`);
    assert.deepEqual(seen, { codec: 'h264', width: 768, height: 576 }, 'the camera, copied');

    const stop = command({ type: 'StopStream', streamId: 's-copy' });
    await bus.publish('commands', stop);
    await until(() => acksOf(stop.commandId).includes('stopped'), 15_000, 'the stopped ack');
    const stopped = acks.find((a) => a.commandId === stop.commandId && a.status === 'stopped');
    assert.equal(stopped?.reason, 'stopped_by_command');
    for (const pid of pids) assert.equal(alive(pid), false, 'the push process is gone');
    assert.deepEqual(agent.pids, []);
  });

  test('annotated push: x264 stream readable; a retry of the same command is answered, not re-run; the TTL stops it', async () => {
    const start = command({
      type: 'StartStream',
      streamId: 's-ann',
      annotated: true,
      ttlSeconds: 15,
    } as Partial<CommandV1> & Pick<CommandV1, 'type' | 'streamId'>);
    agent.onAnalysed(
      'door',
      [{ class: 'person', score: 0.9, box: [0.2, 0.2, 0.2, 0.5], trackId: 'door-x-1' }],
      Date.now(),
    );
    await bus.publish('commands', start);
    await until(() => acksOf(start.commandId).includes('started'), 30_000, 'the started ack');
    const pids = agent.pids;
    assert.equal(pids.length, 2, 'a decoder and an encoder');
    const seen = await probe(`rtmp://127.0.0.1:${rtmp.port}/live/s-ann`);
    assert.equal(seen?.codec, 'h264');
    assert.equal(seen?.width, 768, 'not enlarged beyond the camera');

    // The server retries with the same id: the device answers again and starts nothing new.
    const before = acks.length;
    await bus.publish('commands', start);
    await until(() => acks.length > before, 10_000, 'the repeated answer');
    assert.deepEqual(agent.pids, pids, 'the same processes');
    assert.equal(agent.counters.repeated, 1);

    // A last renewal with a short time-to-live, then none: it stops by itself.
    const last = command({
      type: 'StartStream',
      streamId: 's-ann',
      annotated: true,
      ttlSeconds: 5,
    } as Partial<CommandV1> & Pick<CommandV1, 'type' | 'streamId'>);
    await bus.publish('commands', last);
    await until(() => acksOf(last.commandId).includes('stopped'), 30_000, 'the TTL stop');
    const stopped = acks.find((a) => a.commandId === last.commandId && a.status === 'stopped');
    assert.equal(stopped?.reason, 'ttl_expired');
    assert.deepEqual(agent.pids, []);
    for (const pid of pids) assert.equal(alive(pid), false, 'the push processes are gone');
  });

  test('a publish with a wrong key is refused and reported as publish_refused', async () => {
    const start = command({ type: 'StartStream', streamId: 's-bad' });
    (start as { publishUrl: string }).publishUrl =
      `rtmp://127.0.0.1:${rtmp.port}/live/s-bad?key=not-the-key-4242`;
    await bus.publish('commands', start);
    await until(() => acksOf(start.commandId).includes('failed'), 30_000, 'the failed ack');
    const failed = acks.find((a) => a.commandId === start.commandId && a.status === 'failed');
    assert.equal(failed?.reason, 'publish_refused');
    assert.match(failed?.message ?? '', /refused/);
    assert.doesNotMatch(failed?.message ?? '', /not-the-key/, 'the key is not repeated');
    assert.deepEqual(agent.pids, []);
  });

  test('commands for another device or organisation are ignored, and counted', async () => {
    const ignoredBefore = agent.counters.ignored;
    const other = command({ type: 'StartStream', streamId: 's-other', deviceId: 'edge-2' });
    const otherOrg = command({ type: 'StartStream', streamId: 's-other2', orgId: 'globex' });
    await bus.publish('commands', other);
    await bus.publish('commands', otherOrg);
    await until(() => agent.counters.ignored === ignoredBefore + 2, 10_000, 'the commands to be seen');
    assert.deepEqual(acksOf(other.commandId), []);
    assert.deepEqual(acksOf(otherOrg.commandId), []);
    assert.deepEqual(agent.pids, []);
  });

  test('an unknown camera is refused with unknown_camera', async () => {
    const start = command({ type: 'StartStream', streamId: 's-nocam', cameraId: 'garage' });
    await bus.publish('commands', start);
    await until(() => acksOf(start.commandId).includes('failed'), 10_000, 'the failed ack');
    assert.equal(
      acks.find((a) => a.commandId === start.commandId && a.status === 'failed')?.reason,
      'unknown_camera',
    );
  });
});

describe('streaming agent: copy push from an RTSP camera', { timeout: 120_000 }, () => {
  test('an RTSP camera (GStreamer, as iceberg convert serves it) is copied to RTMP and plays', async () => {
    const camera = await startRtspCamera({ name: 'gate' });
    const rtmp = await startRtmpServer();
    const bus = new Bus(new MemoryBus());
    const acks: CommandAckV1[] = [];
    await bus.subscribe('commandAcks', { group: 'test' }, async (a) => {
      acks.push(a);
    });
    const agent = new StreamingAgent({
      config: IcebergConfig.parse({
        org: 'acme',
        device: { id: 'edge-1' },
        cameras: [{ id: 'gate', input: camera.url }],
        live: { push: { startTimeoutSeconds: 20 } },
      }),
      bus,
      logger: silentLogger(),
    });
    await agent.start();
    try {
      // The first RTP packets of this server's streams carry no presentation time: a plain
      // `ffmpeg -i rtsp://… -c copy -f flv` refuses them ("Packet is missing PTS"); the push's
      // low-delay input options must get past that.
      await bus.publish('commands', {
        schema: 'command.v1',
        type: 'StartStream',
        commandId: 'rtsp-1',
        orgId: 'acme',
        deviceId: 'edge-1',
        cameraId: 'gate',
        streamId: 's-rtsp',
        issuedAt: Date.now(),
        publishUrl: `rtmp://127.0.0.1:${rtmp.port}/live/s-rtsp?key=${GOOD_KEY}`,
        annotated: false,
        ttlSeconds: 60,
      });
      await until(
        () => acks.some((a) => a.status === 'started' || a.status === 'failed'),
        30_000,
        'the push to start or fail',
      );
      assert.deepEqual(
        acks.map((a) => `${a.status}${a.reason ? `/${a.reason}` : ''}`),
        ['accepted', 'started'],
      );
      const seen = await probe(`rtmp://127.0.0.1:${rtmp.port}/live/s-rtsp`);
      assert.deepEqual(seen, { codec: 'h264', width: 768, height: 576 });
    } finally {
      await agent.stop();
      await rtmp.close();
      await camera.stop();
    }
  });
});
