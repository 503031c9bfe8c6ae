/** ffmpeg's log levels, most severe first (as printed by `-loglevel level+…`). */
export const FFMPEG_LEVELS = [
  'panic',
  'fatal',
  'error',
  'warning',
  'info',
  'verbose',
  'debug',
  'trace',
] as const;
export type FfmpegLevel = (typeof FFMPEG_LEVELS)[number];

export interface FfmpegLogLine {
  level: FfmpegLevel;
  /** The component that logged it, e.g. 'tcp', 'rtsp', 'http'; null for ffmpeg itself. */
  component: string | null;
  /** The text, leading indentation kept (ffmpeg's stream dumps depend on it). */
  text: string;
}

/** Parses one line written with `-loglevel level+info`: `[tcp @ 0x55…] [error] Connection …`. */
export function parseLogLine(raw: string): FfmpegLogLine {
  const m =
    /^(?:\[([^\]@]+?) @ 0x[0-9a-f]+\] )?\[(panic|fatal|error|warning|info|verbose|debug|trace)\] ?(.*)$/.exec(
      raw,
    );
  if (!m) return { level: 'info', component: null, text: raw };
  return { level: m[2] as FfmpegLevel, component: m[1] ?? null, text: m[3] ?? '' };
}

/** True when `level` is at least as severe as `threshold`. */
export function atLeast(level: FfmpegLevel, threshold: FfmpegLevel): boolean {
  return FFMPEG_LEVELS.indexOf(level) <= FFMPEG_LEVELS.indexOf(threshold);
}

/** Splits a byte stream into lines at `\n` or `\r` (ffmpeg ends progress lines with `\r`). */
export class LineSplitter {
  private rest = '';

  constructor(private readonly maxLineLength = 4096) {}

  push(chunk: Uint8Array | string): string[] {
    const text = this.rest + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const parts = text.split(/\r\n|\r|\n/);
    this.rest = parts.pop() ?? '';
    if (this.rest.length > this.maxLineLength) {
      parts.push(this.rest.slice(0, this.maxLineLength));
      this.rest = '';
    }
    return parts.filter((p) => p !== '');
  }

  /** The last line when the stream ends without a newline. */
  flush(): string[] {
    const rest = this.rest;
    this.rest = '';
    return rest === '' ? [] : [rest];
  }
}

export interface VideoStreamInfo {
  width: number;
  height: number;
  codec: string;
  /** Frames per second the stream declares (`fps`, else `tbr`); 0 when it says nothing. */
  fps: number;
}

/**
 * Follows ffmpeg's stream dumps on stderr: the first video stream of Input #0 (what the camera
 * delivers) and the video size of each output (what the filter graph produces).
 */
export class StreamInfoParser {
  private section: { io: 'input' | 'output'; index: number } | null = null;
  private inputVideo: VideoStreamInfo | null = null;
  private readonly outputSizes = new Map<number, { width: number; height: number }>();

  /** Feeds a line's text (without the level prefix). Returns true when it added information. */
  feed(text: string): boolean {
    const head = /^(Input|Output) #(\d+), /.exec(text);
    if (head) {
      this.section = { io: head[1] === 'Input' ? 'input' : 'output', index: Number(head[2]) };
      return false;
    }
    if (text.startsWith('Stream mapping:')) {
      this.section = null;
      return false;
    }
    if (!this.section) return false;
    const video = parseVideoStreamLine(text);
    if (!video) return false;
    if (this.section.io === 'input') {
      if (this.section.index !== 0 || this.inputVideo) return false;
      this.inputVideo = video;
      return true;
    }
    if (this.outputSizes.has(this.section.index)) return false;
    this.outputSizes.set(this.section.index, { width: video.width, height: video.height });
    return true;
  }

  get input(): VideoStreamInfo | null {
    return this.inputVideo;
  }

  outputSize(index: number): { width: number; height: number } | null {
    return this.outputSizes.get(index) ?? null;
  }
}

/**
 * Parses `  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive),
 * 768x576, 1106 kb/s, 10 fps, 10 tbr, 10240 tbn (default)`; null for other lines.
 */
export function parseVideoStreamLine(text: string): VideoStreamInfo | null {
  const m = /^\s*Stream #\d+:\d+\S*: Video: ([^\s,]+)(.*)$/.exec(text);
  if (!m) return null;
  const rest = m[2] ?? '';
  const size = /, (\d{1,5})x(\d{1,5})(?=[\s,]|$)/.exec(rest);
  if (!size) return null;
  const fps = /, (\d+(?:\.\d+)?)(k?) fps\b/.exec(rest) ?? /, (\d+(?:\.\d+)?)(k?) tbr\b/.exec(rest);
  return {
    codec: m[1]!,
    width: Number(size[1]),
    height: Number(size[2]),
    fps: fps ? Number(fps[1]) * (fps[2] === 'k' ? 1000 : 1) : 0,
  };
}
