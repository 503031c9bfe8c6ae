import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Bus, MemoryBus } from '@iceberg/bus';
import { silentLogger } from '@iceberg/common';
import { loadConfig } from '@iceberg/config';
import type { TrackEventV1 } from '@iceberg/contracts';
import { createEdgeAgent } from '../src/create-edge-agent.ts';
import { LocalRtspOutput } from '../src/rtsp/index.ts';
import { playRtsp, ROOT, until, VTEST_MP4 } from './helpers/rtsp-camera.ts';

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** The last of `n` frames of `input` (a file or an rtsp:// URL over TCP), decoded to RGB. */
function lastFrame(input: string, n: number): Promise<{ width: number; height: number; rgb: Buffer }> {
  return new Promise((resolve, reject) => {
    const rtsp = input.startsWith('rtsp://');
    const child = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'info',
        ...(rtsp ? ['-rtsp_transport', 'tcp', '-timeout', '15000000'] : []),
        '-i',
        input,
        '-map',
        '0:v:0',
        '-frames:v',
        String(n),
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        'pipe:1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', () => {
      clearTimeout(timer);
      const m = /Output #0[\s\S]*?Video: rawvideo[^\n]*?, (\d+)x(\d+)/.exec(stderr);
      if (!m) return reject(new Error(`no frame from ${input}: ${stderr.slice(-500)}`));
      const width = Number(m[1]);
      const height = Number(m[2]);
      const all = Buffer.concat(chunks);
      const size = width * height * 3;
      if (all.length < size) return reject(new Error(`no whole frame from ${input}`));
      const last = Math.floor(all.length / size) - 1;
      resolve({ width, height, rgb: all.subarray(last * size, (last + 1) * size) });
    });
  });
}

/** Pixels of the amber the annotator draws people in (255, 196, 0), allowing for compression. */
function amberPixels(rgb: Buffer): number {
  let n = 0;
  for (let i = 0; i + 2 < rgb.length; i += 3) {
    const r = rgb[i]!;
    const g = rgb[i + 1]!;
    const b = rgb[i + 2]!;
    if (r > 200 && g > 140 && g < 235 && b < 90) n++;
  }
  return n;
}

describe("a device's local RTSP output", { timeout: 120_000 }, () => {
  test('copied: rtsp://DEVICE:PORT/CAMERA plays over TCP at the camera size, no encode', async () => {
    const port = await freeTcpPort();
    const config = loadConfig({
      baseDir: ROOT,
      overrides: {
        rtspOutput: { enabled: true, port, host: '127.0.0.1', annotated: false },
        cameras: [{ id: 'yard', input: VTEST_MP4, loop: true }],
      },
    });
    const output = new LocalRtspOutput({ config, objects: () => [] });
    await output.start();
    try {
      assert.equal(output.url('yard'), `rtsp://127.0.0.1:${port}/yard`);
      const r = await playRtsp(output.url('yard'), 'tcp', 20);
      assert.equal(r.frames, 20, r.stderr.slice(-800));
      assert.deepEqual([r.width, r.height], [768, 576]);
      assert.equal(output.pids.length, 2, 'the RTSP server and one copying ffmpeg');
    } finally {
      await output.stop();
    }
    assert.deepEqual(output.pids, []);
  });

  test('annotated, from the edge agent: boxes around the people it tracks, over TCP', async () => {
    const port = await freeTcpPort();
    const dataDir = mkdtempSync(join(tmpdir(), 'iceberg-rtsp-out-'));
    const config = loadConfig({
      baseDir: ROOT,
      overrides: {
        org: 'acme',
        device: { id: 'edge-rtsp' },
        dataDir,
        rtspOutput: { enabled: true, port, host: '127.0.0.1' },
        cameras: [{ id: 'lobby', input: VTEST_MP4, loop: true, record: { mode: 'off' } }],
      },
    });
    assert.equal(config.rtspOutput.annotated, true, 'annotated is the default');
    const bus = new Bus(new MemoryBus());
    const tracks: TrackEventV1[] = [];
    await bus.subscribe('tracks', { group: 't' }, async (m) => void tracks.push(m));
    const agent = await createEdgeAgent(config, { bus, logger: silentLogger() });
    await agent.start();
    try {
      await until('a person tracked', () => tracks.some((t) => t.type === 'TrackStarted'), 60_000);
      const url = `rtsp://127.0.0.1:${port}/lobby`;
      const [annotated, raw] = await Promise.all([lastFrame(url, 10), lastFrame(VTEST_MP4, 10)]);
      assert.deepEqual([annotated.width, annotated.height], [768, 576]);
      const drawn = amberPixels(annotated.rgb);
      const natural = amberPixels(raw.rgb);
      assert.ok(drawn > 3 * natural + 500, `${drawn} amber pixels drawn, ${natural} in the footage`);
      const udp = await playRtsp(url, 'udp', 10);
      assert.equal(udp.frames, 10, udp.stderr.slice(-800));
    } finally {
      await agent.stop();
      await bus.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const after = await playRtsp(`rtsp://127.0.0.1:${port}/lobby`, 'tcp', 1, 10_000);
    assert.equal(after.frames, 0, 'the output stops with the agent');
  });
});
