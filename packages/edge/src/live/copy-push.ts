import type { Clock, Logger } from '@iceberg/common';
import type { CameraConfig } from '@iceberg/config';
import { inputArgs } from '../camera/ffmpeg-args.ts';
import { classifyInput } from '../camera/index.ts';
import { PushProcess } from './push-process.ts';

export interface CopyPushOptions {
  camera: Pick<CameraConfig, 'input' | 'loop' | 'realtime' | 'rtspTransport'>;
  /** Any ffmpeg output, e.g. `['-f', 'flv', 'rtmp://…']`. */
  output: readonly string[];
  ffmpegPath: string;
  startTimeoutMs: number;
  clock?: Clock;
  logger?: Logger;
}

/** ffmpeg's options that read a camera as the camera source does (files at their own pace, looping if asked). */
export function cameraInputArgs(camera: CopyPushOptions['camera']): string[] {
  const input = classifyInput(camera.input);
  // A live view waits for this probe: ffmpeg's default reads up to 5 s of a network stream before
  // it starts; the push needs only the video's parameters, which the first second carries
  // (measured on an RTSP camera: first packet out after 2.6 s instead of 3.8 s).
  const network = input.kind === 'rtsp' || input.kind === 'rtmp' || input.kind === 'http';
  return [
    ...(network ? ['-analyzeduration', '1000000', '-probesize', '1000000'] : []),
    ...inputArgs({
      input,
      live: true,
      loop: camera.loop,
      realtime: camera.realtime,
      rtspTransport: camera.rtspTransport,
      ioTimeoutMs: 10_000,
    }),
    '-i',
    input.url,
  ];
}

/**
 * The camera's own video, unchanged (`-c copy`: almost no CPU), pushed to `output`. It is a
 * second connection to the camera, next to the camera source's: cameras that accept a single
 * client need the annotated push instead, or an RTSP hop (`iceberg convert`).
 */
export function createCopyPush(o: CopyPushOptions): PushProcess {
  return new PushProcess({
    ffmpegPath: o.ffmpegPath,
    args: [...cameraInputArgs(o.camera), '-map', '0:v:0', '-an', '-sn', '-dn', '-c:v', 'copy', ...o.output],
    startTimeoutMs: o.startTimeoutMs,
    ...(o.clock && { clock: o.clock }),
    ...(o.logger && { logger: o.logger }),
  });
}
