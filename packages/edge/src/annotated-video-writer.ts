import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { IcebergError } from '@iceberg/common';
import type { RgbaFrame } from '@iceberg/vision';

/**
 * Encodes RGBA frames into an H.264 MP4 with ffmpeg (x264, veryfast), at a fixed frame rate.
 * Writes wait for ffmpeg to take the previous frame, so memory stays flat on long inputs.
 */
export class AnnotatedVideoWriter {
  private readonly child;
  private readonly stderr: string[] = [];
  private readonly exited: Promise<number | null>;

  constructor(
    readonly path: string,
    readonly size: { width: number; height: number },
    fps: number,
    ffmpegPath = 'ffmpeg',
  ) {
    const args = [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      '-s',
      `${size.width}x${size.height}`,
      '-framerate',
      String(fps),
      '-i',
      'pipe:0',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '23',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      path,
    ];
    this.child = spawn(ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => this.stderr.push(d));
    this.child.stdin.on('error', () => {}); // reported through the exit code
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', (err) =>
        reject(
          new IcebergError('ICEBERG_ERR_FFMPEG_MISSING', `cannot run ffmpeg (${ffmpegPath}): ${err.message}`),
        ),
      );
      this.child.once('exit', (code) => resolve(code));
    });
    this.exited.catch(() => {});
  }

  async write(frame: RgbaFrame): Promise<void> {
    if (frame.width !== this.size.width || frame.height !== this.size.height) {
      throw new Error(
        `frame is ${frame.width}×${frame.height}, the video is ${this.size.width}×${this.size.height}`,
      );
    }
    if (this.child.exitCode !== null) throw this.failure();
    if (!this.child.stdin.write(frame.data))
      await Promise.race([once(this.child.stdin, 'drain'), this.exited]);
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    const code = await this.exited;
    if (code !== 0) throw this.failure();
  }

  private failure(): IcebergError {
    const detail = this.stderr.join('').trim().split('\n').slice(-3).join(' ');
    return new IcebergError(
      'ICEBERG_ERR_INTERNAL',
      `writing ${this.path} failed: ${detail || 'ffmpeg exited'}`,
    );
  }
}
