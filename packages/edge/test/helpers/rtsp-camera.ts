import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort, RtspFeed, RtspServer } from '../../src/rtsp/index.ts';

export const ROOT = process.env.ICEBERG_ROOT ?? fileURLToPath(new URL('../../../../', import.meta.url));
export const VTEST_MP4 = join(ROOT, 'assets/samples/vtest.mp4');

export interface RtspCamera {
  /** rtsp://127.0.0.1:PORT/NAME */
  url: string;
  port: number;
  server: RtspServer;
  feed: RtspFeed;
  stop(): Promise<void>;
}

/**
 * A simulated RTSP camera for tests: the sample footage (or `input`), looped at its own pace,
 * served by GStreamer's RTSP server on a free port of 127.0.0.1 (what `iceberg convert` does).
 * Resolves once the feed is running.
 */
export async function startRtspCamera(
  options: { input?: string; name?: string; loop?: boolean; video?: 'auto' | 'copy' | 'encode' } = {},
): Promise<RtspCamera> {
  const name = options.name ?? 'cam';
  const server = new RtspServer({ host: '127.0.0.1', port: 0 });
  const port = await server.start();
  const udpPort = await freeUdpPort();
  await server.addMount(name, udpPort);
  const feed = new RtspFeed({
    name,
    input: options.input ?? VTEST_MP4,
    udpPort,
    loop: options.loop ?? true,
    video: options.video ?? 'auto',
    retry: 'after-first-start',
  });
  try {
    await feed.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    url: server.url(name),
    port,
    server,
    feed,
    stop: async () => {
      await feed.stop();
      await server.stop();
    },
  };
}

export interface DecodedFrames {
  /** Frames decoded. */
  frames: number;
  /** Size of the decoded video, from ffmpeg's own report. */
  width: number;
  height: number;
  stderr: string;
  code: number | null;
}

/**
 * Plays `url` with a real ffmpeg over `transport` and decodes `frames` frames (to nothing):
 * what a player does. Gives up after `timeoutMs`.
 */
export function playRtsp(
  url: string,
  transport: 'tcp' | 'udp',
  frames = 20,
  timeoutMs = 40_000,
): Promise<DecodedFrames> {
  return new Promise((resolve) => {
    const child = spawn(
      process.env.FFMPEG_PATH ?? 'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'info',
        '-rtsp_transport',
        transport,
        '-timeout',
        '15000000',
        '-i',
        url,
        '-map',
        '0:v:0',
        '-frames:v',
        String(frames),
        '-f',
        'rawvideo',
        '-pix_fmt',
        'gray',
        'pipe:1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // `Stream #0:0: Video: rawvideo (Y800 / …), gray, 768x576 …` in the output section.
      const out = stderr.slice(stderr.indexOf('Output #0'));
      const m = /Video: rawvideo[^\n]*?, (\d+)x(\d+)/.exec(out);
      const width = m ? Number(m[1]) : 0;
      const height = m ? Number(m[2]) : 0;
      resolve({ frames: width > 0 ? Math.floor(bytes / (width * height)) : 0, width, height, stderr, code });
    });
  });
}

/** True while a process with this pid runs (a zombie waiting for its parent to reap it counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
