/**
 * The RTSP converter and local output: `npm run bench:rtsp` (about 1.5 minutes; `--quick`: 30 s).
 * Serves the sample footage through GStreamer's RTSP server as `iceberg convert` does and prints:
 * - CPU (share of one core) of the feeding ffmpeg and of the RTSP server, per stream, with the
 *   H.264 copied (vtest.mp4) and encoded with x264 (vtest.avi, MPEG-4), for 0, 1 and 4 players;
 * - time from a player's connect to its first decoded frame, over TCP and UDP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { percentile } from '@iceberg/common';
import { freeUdpPort, RtspFeed, RtspServer } from '../packages/edge/src/rtsp/index.ts';

const root = join(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const windowSeconds = quick ? 5 : 15;

function ticks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function player(url: string, transport: 'tcp' | 'udp'): ChildProcess {
  return spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-rtsp_transport',
      transport,
      '-i',
      url,
      '-f',
      'null',
      '-',
    ],
    { stdio: 'ignore' },
  );
}

/** Wall time from starting a player to its first decoded frame. */
function firstFrameMs(url: string, transport: 'tcp' | 'udp', quickProbe = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-rtsp_transport',
        transport,
        ...(quickProbe ? ['-probesize', '32', '-analyzeduration', '0'] : []),
        '-i',
        url,
        '-frames:v',
        '1',
        '-f',
        'null',
        '-',
      ],
      { stdio: 'ignore' },
    );
    child.on('close', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`player exited ${code}`)),
    );
  });
}

async function scenario(input: string, label: string): Promise<void> {
  const server = new RtspServer({ host: '127.0.0.1', port: 0 });
  await server.start();
  const udpPort = await freeUdpPort();
  await server.addMount('cam', udpPort);
  const feed = new RtspFeed({ name: 'cam', input, udpPort, loop: true, retry: 'after-first-start' });
  await feed.start();
  const url = server.url('cam');
  await sleep(2000);
  const rows: string[] = [];
  for (const players of [0, 1, 4]) {
    const running = Array.from({ length: players }, (_, i) => player(url, i % 2 === 0 ? 'tcp' : 'udp'));
    await sleep(players > 0 ? 3000 : 0); // the players are connected and the media is prepared
    const f0 = ticks(feed.pid);
    const s0 = ticks(server.pid);
    const t0 = performance.now();
    await sleep(windowSeconds * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const feedCpu = (ticks(feed.pid) - f0) / 100 / seconds;
    const serverCpu = (ticks(server.pid) - s0) / 100 / seconds;
    for (const p of running) p.kill('SIGKILL');
    rows.push(
      `  ${label.padEnd(24)} ${String(players).padStart(2)} player(s): ffmpeg feed ${(feedCpu * 100).toFixed(1).padStart(5)}%  GStreamer ${(serverCpu * 100).toFixed(1).padStart(5)}%  total ${((feedCpu + serverCpu) * 100).toFixed(1).padStart(5)}% of a core`,
    );
  }
  console.log(rows.join('\n'));
  if (feed.status.mode === 'copy') {
    // Idle: no one watches, so the shared media is built for the player (it waits for a keyframe).
    // Playing: another player keeps the media running.
    for (const warm of [false, true]) {
      const keep = warm ? player(url, 'tcp') : null;
      if (keep) await sleep(3000);
      for (const transport of ['tcp', 'udp'] as const) {
        const times: number[] = [];
        for (let i = 0; i < (quick ? 3 : 6); i++) {
          times.push(await firstFrameMs(url, transport));
          await sleep(300);
        }
        console.log(
          `  first frame, ${transport.toUpperCase()}, media ${warm ? 'playing' : 'idle   '}: p50 ${Math.round(percentile(times, 50))} ms, max ${Math.round(Math.max(...times))} ms (${times.length} ffmpeg players, default probing)`,
        );
      }
      if (warm) {
        const times: number[] = [];
        for (let i = 0; i < (quick ? 3 : 6); i++) {
          times.push(await firstFrameMs(url, 'tcp', true));
          await sleep(300);
        }
        console.log(
          `  first frame, TCP, media playing: p50 ${Math.round(percentile(times, 50))} ms, max ${Math.round(Math.max(...times))} ms (players with -probesize 32 -analyzeduration 0)`,
        );
      }
      keep?.kill('SIGKILL');
    }
  }
  await feed.stop();
  await server.stop();
}

console.log(`RTSP converter (GStreamer RTSP server + ffmpeg feed), ${windowSeconds} s windows`);
await scenario(join(root, 'assets/samples/vtest.mp4'), 'vtest.mp4 (H.264, copy)');
await scenario(join(root, 'assets/samples/vtest.avi'), 'vtest.avi (MPEG-4, x264)');
