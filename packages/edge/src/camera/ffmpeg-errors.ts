import { type ErrorCode, IcebergError } from '@iceberg/common';
import type { CameraProblemCode, CameraProblemV1 } from '@iceberg/contracts';
import { atLeast, type FfmpegLogLine } from './ffmpeg-log.ts';
import { type InputKind, redactText } from './input-kind.ts';

export const MAX_PROBLEM_MESSAGE = 300;

/** What each code means, in words a user can act on; the ffmpeg line that proves it follows. */
const SUMMARY: Record<CameraProblemCode, string> = {
  unreachable: 'Cannot reach the camera',
  timeout: 'The camera did not answer in time',
  auth: 'The camera refused the user name or password',
  not_found: 'Not found',
  invalid_input: 'Not a readable video',
  codec: 'No decodable video stream',
  stalled: 'Frames stopped arriving',
  ended: 'The video ended',
  ffmpeg_missing: 'ffmpeg cannot be started',
  error: 'ffmpeg failed',
};

interface Rule {
  code: CameraProblemCode;
  pattern: RegExp;
}

/** Most specific first: the first rule that matches any line wins. */
const RULES: readonly Rule[] = [
  { code: 'auth', pattern: /\b401 Unauthorized|\b403 Forbidden|authorization failed|access denied/i },
  { code: 'not_found', pattern: /\b404 Not Found|No such file or directory|Cannot open video device/i },
  {
    code: 'unreachable',
    pattern:
      /Connection refused|No route to host|Network is unreachable|Name or service not known|Temporary failure in name resolution|Failed to resolve hostname|Host is unreachable/i,
  },
  { code: 'timeout', pattern: /Connection timed out|Operation timed out|\btimed out\b/i },
  {
    code: 'codec',
    pattern:
      /does not contain any stream|matches no streams|Decoder \(codec [^)]*\) not found|Unsupported codec|Could not find codec parameters for stream|Failed to open codec|Error while opening decoder/i,
  },
  {
    code: 'invalid_input',
    pattern:
      /Invalid data found when processing input|moov atom not found|Protocol not found|Unknown input format|EBML header parsing failed|could not find corresponding trailer|could not find codec parameters/i,
  },
];

/** The code a single ffmpeg message points to, or null when it says nothing specific. */
export function classifyFfmpegLine(text: string): CameraProblemCode | null {
  for (const rule of RULES) if (rule.pattern.test(text)) return rule.code;
  return null;
}

export interface FfmpegExitContext {
  kind: InputKind;
  /** Recent warning-or-worse lines of the process, oldest first. */
  lines: readonly FfmpegLogLine[];
  exitCode: number | null;
  signal: string | null;
  /** The process could not be started (spawn error), e.g. ENOENT. */
  spawnError?: (Error & { code?: string }) | null;
  /** Frames received from this process. */
  frames: number;
  /** The path of ffmpeg, for the message when it is missing. */
  ffmpegPath?: string;
  /** How long the process ran and the socket timeout it had, to tell a silent server from garbage. */
  elapsedMs?: number;
  ioTimeoutMs?: number;
}

/**
 * Turns how an ffmpeg process ended into the problem a user sees: the code from the most specific
 * message, the message from the most relevant line, credentials hidden, at most 300 characters.
 */
export function classifyFfmpegExit(ctx: FfmpegExitContext): CameraProblemV1 {
  if (ctx.spawnError) {
    const err = ctx.spawnError;
    const path = ctx.ffmpegPath ?? 'ffmpeg';
    return makeProblem(
      'ffmpeg_missing',
      `${path}: ${err.code ?? err.message}. Install ffmpeg or set FFMPEG_PATH to its location`,
    );
  }

  const lines = ctx.lines.filter((l) => atLeast(l.level, 'warning'));
  // Once frames have flowed, warnings are usually glitches of the stream, not why it ended.
  const candidates = ctx.frames > 0 ? lines.filter((l) => atLeast(l.level, 'error')) : lines;
  let match: { code: CameraProblemCode; line: FfmpegLogLine } | null = null;
  for (const rule of RULES) {
    // Among the lines of the best rule, prefer the last error-level one (ffmpeg's summary).
    const hits = candidates.filter((l) => rule.pattern.test(l.text));
    if (hits.length === 0) continue;
    const errors = hits.filter((l) => l.level !== 'warning');
    const pool = errors.length > 0 ? errors : hits;
    match = { code: rule.code, line: pool[pool.length - 1]! };
    break;
  }

  // Seen from RTSP over TCP: a server that accepts the connection and never answers ends in
  // "Invalid data found" once the socket timeout has passed.
  if (
    match?.code === 'invalid_input' &&
    ctx.frames === 0 &&
    ctx.kind !== 'file' &&
    ctx.elapsedMs !== undefined &&
    ctx.ioTimeoutMs !== undefined &&
    ctx.elapsedMs >= ctx.ioTimeoutMs * 0.9
  ) {
    return makeProblem(
      'timeout',
      `no answer within ${formatSeconds(ctx.ioTimeoutMs)} (${lineText(match.line)})`,
    );
  }
  // ffmpeg guessed the format of something that is not a video (random bytes look like h263, lrc,
  // bintext … now and then): whatever failed next, the file is the problem.
  const guess =
    ctx.frames === 0 ? lines.find((l) => /detected only with low score/i.test(l.text)) : undefined;
  if (guess && (match === null || match.code === 'codec' || match.code === 'error')) {
    const format = /Format (\S+) detected/.exec(guess.text)?.[1] ?? 'unknown';
    const last = match?.line ?? lastErrorLine(lines);
    const why = last ? lineText(last) : 'nothing could be decoded';
    return makeProblem('invalid_input', `ffmpeg could only guess the format (${format}); ${why}`);
  }
  if (match) {
    return makeProblem(match.code, lineText(match.line));
  }

  const lastError = lastErrorLine(lines);
  if (ctx.signal) {
    return makeProblem(
      'error',
      `ffmpeg was killed by ${ctx.signal}${lastError ? ` (${lineText(lastError)})` : ''}`,
    );
  }
  if (ctx.frames === 0) {
    const detail = lastError ? ` (${lineText(lastError)})` : '';
    if (ctx.kind === 'file' || ctx.exitCode === 0 || /End of file/i.test(lastError?.text ?? ''))
      return makeProblem('invalid_input', `no video frame could be decoded${detail}`);
    return makeProblem('error', `ffmpeg exited with code ${ctx.exitCode}${detail}`);
  }
  if (ctx.exitCode === 0) {
    return makeProblem(
      'ended',
      ctx.kind === 'file' ? 'the file reached its end' : 'the stream ended (the camera closed it)',
    );
  }
  return makeProblem(
    'error',
    lastError ? lineText(lastError) : `ffmpeg exited with code ${ctx.exitCode} after ${ctx.frames} frames`,
  );
}

/** A problem with the summary of its code in front and credentials hidden, cut to 300 characters. */
export function makeProblem(code: CameraProblemCode, detail: string): CameraProblemV1 {
  const message = redactText(`${SUMMARY[code]}: ${detail}`).replace(/\s+/g, ' ').trim();
  return {
    code,
    message: message.length > MAX_PROBLEM_MESSAGE ? `${message.slice(0, MAX_PROBLEM_MESSAGE - 1)}…` : message,
  };
}

/** The last error-level line, else the last warning. */
function lastErrorLine(lines: readonly FfmpegLogLine[]): FfmpegLogLine | undefined {
  return [...lines].reverse().find((l) => l.level !== 'warning') ?? lines[lines.length - 1];
}

/** The line's text; ffmpeg's words for "no video stream" quote our whole filter graph: say it plainly. */
function lineText(line: FfmpegLogLine): string {
  const text = line.text.trim();
  if (/matches no streams|does not contain any stream/i.test(text)) return 'the input has no video stream';
  return text;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** The coded error a caller gets (e.g. `iceberg detect FILE`) when a source gives up on a problem. */
export function problemToError(problem: CameraProblemV1): IcebergError {
  return new IcebergError(ERROR_CODE[problem.code], problem.message, { details: { problem } });
}

const ERROR_CODE: Record<CameraProblemCode, ErrorCode> = {
  unreachable: 'ICEBERG_ERR_CAMERA_UNREACHABLE',
  timeout: 'ICEBERG_ERR_CAMERA_UNREACHABLE',
  stalled: 'ICEBERG_ERR_CAMERA_UNREACHABLE',
  auth: 'ICEBERG_ERR_CAMERA_AUTH',
  not_found: 'ICEBERG_ERR_NOT_FOUND',
  invalid_input: 'ICEBERG_ERR_CAMERA_INPUT',
  codec: 'ICEBERG_ERR_CAMERA_INPUT',
  ffmpeg_missing: 'ICEBERG_ERR_FFMPEG_MISSING',
  ended: 'ICEBERG_ERR_INTERNAL',
  error: 'ICEBERG_ERR_INTERNAL',
};
