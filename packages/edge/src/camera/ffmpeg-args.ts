import type { ClassifiedInput } from './input-kind.ts';

/** The detector's input: fixed by the model (see DESIGN.md, "Detection model"). */
export const DETECT_SIZE = 416;

/** ffmpeg's output numbers of the two frame outputs; extra outputs come after them. */
export const DETECT_OUTPUT_INDEX = 0;
export const VIEW_OUTPUT_INDEX = 1;

export interface V4l2Options {
  /** e.g. '1280x720' */
  videoSize?: string;
  framerate?: number;
  /** e.g. 'mjpeg', 'yuyv422' */
  inputFormat?: string;
}

export interface FfmpegArgsOptions {
  input: ClassifiedInput;
  /** Sampled frames per second on both frame outputs. */
  fps: number;
  /** Live: a camera watched as it happens (low-delay flags on network streams). */
  live: boolean;
  /** Files: start again at the end (`-stream_loop -1`). */
  loop: boolean;
  /** Files: read at the native frame rate (`-re`), as a camera would deliver it. */
  realtime: boolean;
  rtspTransport: 'tcp' | 'udp';
  /** Socket I/O timeout of network inputs. */
  ioTimeoutMs: number;
  /** Widest view frame; narrower sources are not enlarged. Rounded down to even. */
  viewMaxWidth: number;
  v4l2?: V4l2Options;
  /** Options placed just before `-i`, after the ones built here. */
  extraInputArgs?: readonly string[];
  /**
   * More outputs of the same process (Output #2 onwards), each a complete list of output options
   * ending with its target, e.g. a recorder: `['-map', '0:v:0', '-c', 'copy', '-f', 'segment', …, 'rec/%d.mp4']`.
   */
  extraOutputs?: readonly (readonly string[])[];
}

/**
 * Builds the arguments of the one ffmpeg process that reads a camera: Output #0 on pipe:1 carries
 * the detection frames (416×416 BGR, aspect stretched on purpose: boxes are normalised), Output #1
 * on pipe:3 the same instants as RGBA "view" frames that keep the aspect ratio. One filter graph
 * with `split` guarantees that the n-th frame of both outputs is the same picture. The view
 * frame's size is reported by ffmpeg on stderr (`Output #1 … Stream #1:0: Video: … WxH`) before
 * any of its frames is written.
 */
export function buildFfmpegArgs(o: FfmpegArgsOptions): string[] {
  if (!(o.fps > 0 && Number.isFinite(o.fps))) throw new RangeError(`fps must be positive, got ${o.fps}`);
  const viewWidth = Math.max(2, Math.floor(o.viewMaxWidth / 2) * 2);
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+info'];
  args.push(...inputArgs(o), ...(o.extraInputArgs ?? []), '-i', o.input.url);

  const fps = formatNumber(o.fps);
  const graph = [
    `[0:v:0]fps=${fps},split=2[det_in][view_in]`,
    `[det_in]scale=${DETECT_SIZE}:${DETECT_SIZE},format=bgr24[det]`,
    `[view_in]scale=w='trunc(min(${viewWidth},iw)/2)*2':h=-2,format=rgba[view]`,
  ].join(';');
  args.push('-filter_complex', graph);
  args.push('-map', '[det]', '-an', '-sn', '-dn', '-f', 'rawvideo', 'pipe:1');
  args.push('-map', '[view]', '-an', '-sn', '-dn', '-f', 'rawvideo', 'pipe:3');
  for (const output of o.extraOutputs ?? []) args.push(...output);
  return args;
}

/** The options placed before `-i` for this kind of input (also used by the live push, which reads the camera too). */
export function inputArgs(
  o: Pick<
    FfmpegArgsOptions,
    'input' | 'live' | 'loop' | 'realtime' | 'rtspTransport' | 'ioTimeoutMs' | 'v4l2'
  >,
): string[] {
  const timeoutUs = String(Math.round(o.ioTimeoutMs * 1000));
  switch (o.input.kind) {
    case 'rtsp':
      // `-timeout` is the RTSP demuxer's socket I/O timeout in µs in ffmpeg 5 (it was `-stimeout` in 4).
      return ['-rtsp_transport', o.rtspTransport, '-timeout', timeoutUs, ...(o.live ? lowDelay : [])];
    case 'rtmp':
      // For RTMP `-timeout` means "listen"; `-rw_timeout` is the generic protocol I/O timeout.
      return ['-rw_timeout', timeoutUs, ...(o.live ? lowDelay : [])];
    case 'http':
      // MJPEG or HLS: ffmpeg probes. Reconnects inside ffmpeg cover a dropped HLS segment fetch;
      // anything longer is the watchdog's job, so the delay is kept short.
      return [
        '-rw_timeout',
        timeoutUs,
        '-reconnect',
        '1',
        '-reconnect_streamed',
        '1',
        '-reconnect_delay_max',
        '2',
      ];
    case 'file':
      return [...(o.realtime ? ['-re'] : []), ...(o.loop ? ['-stream_loop', '-1'] : [])];
    case 'v4l2': {
      const v = o.v4l2 ?? {};
      return [
        '-f',
        'v4l2',
        ...(v.inputFormat ? ['-input_format', v.inputFormat] : []),
        ...(v.videoSize ? ['-video_size', v.videoSize] : []),
        ...(v.framerate ? ['-framerate', formatNumber(v.framerate)] : []),
      ];
    }
    default: {
      const never: never = o.input.kind;
      throw new Error(`unknown input kind ${String(never)}`);
    }
  }
}

const lowDelay = ['-fflags', 'nobuffer', '-flags', 'low_delay'];

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1e6) / 1e6);
}
