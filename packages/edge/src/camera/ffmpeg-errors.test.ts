import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IcebergError } from '@iceberg/common';
import type { CameraProblemCode } from '@iceberg/contracts';
import {
  classifyFfmpegExit,
  classifyFfmpegLine,
  type FfmpegExitContext,
  makeProblem,
  problemToError,
} from './ffmpeg-errors.ts';
import { parseLogLine } from './ffmpeg-log.ts';
import type { InputKind } from './input-kind.ts';

interface Case {
  name: string;
  kind: InputKind;
  stderr: string;
  exitCode: number;
  frames?: number;
  elapsedMs?: number;
  code: CameraProblemCode;
  /** What the message must say (and it must start with a plain-words summary). */
  message: RegExp;
}

// stderr of ffmpeg 5.1 (-loglevel level+info), captured against each situation.
const CASES: Case[] = [
  {
    name: 'closed port (RTSP)',
    kind: 'rtsp',
    stderr: `[tcp @ 0x562d07985a80] [error] Connection to tcp://127.0.0.1:1?timeout=5000000 failed: Connection refused
[error] rtsp://admin:secret@127.0.0.1:1/x: Connection refused`,
    exitCode: 1,
    code: 'unreachable',
    message: /^Cannot reach the camera: rtsp:\/\/admin:\*\*\*@127\.0\.0\.1:1\/x: Connection refused$/,
  },
  {
    name: 'closed port (HTTP)',
    kind: 'http',
    stderr: `[tcp @ 0x564dd96ff440] [error] Connection to tcp://127.0.0.1:1 failed: Connection refused
[error] http://127.0.0.1:1/: Connection refused`,
    exitCode: 1,
    code: 'unreachable',
    message: /http:\/\/127\.0\.0\.1:1\/: Connection refused/,
  },
  {
    name: 'unknown host name',
    kind: 'rtsp',
    stderr: `[tcp @ 0x55d78e6efa80] [error] Failed to resolve hostname nonexistent.invalid: Name or service not known
[error] rtsp://nonexistent.invalid/x: Input/output error`,
    exitCode: 1,
    code: 'unreachable',
    message: /Failed to resolve hostname nonexistent\.invalid/,
  },
  {
    name: 'HTTP server that never answers',
    kind: 'http',
    stderr: '[error] http://127.0.0.1:18555/cam: Connection timed out',
    exitCode: 1,
    code: 'timeout',
    message: /^The camera did not answer in time: .*Connection timed out/,
  },
  {
    name: 'RTSP server that accepts and never answers',
    kind: 'rtsp',
    stderr: '[error] rtsp://127.0.0.1:18555/cam: Invalid data found when processing input',
    exitCode: 1,
    elapsedMs: 2240,
    code: 'timeout',
    message: /no answer within 2 s/,
  },
  {
    name: 'RTSP 401',
    kind: 'rtsp',
    stderr: `[rtsp @ 0x55f9ba276bc0] [error] method DESCRIBE failed: 401 Unauthorized
[error] rtsp://admin:pw@127.0.0.1:18554/cam: Server returned 401 Unauthorized (authorization failed)`,
    exitCode: 1,
    code: 'auth',
    message: /^The camera refused the user name or password: rtsp:\/\/admin:\*\*\*@.*401 Unauthorized/,
  },
  {
    name: 'RTSP 403',
    kind: 'rtsp',
    stderr: `[rtsp @ 0x562fb1c70bc0] [error] method DESCRIBE failed: 403 Forbidden
[error] rtsp://admin:pw@127.0.0.1:18554/cam: Server returned 403 Forbidden (access denied)`,
    exitCode: 1,
    code: 'auth',
    message: /403 Forbidden/,
  },
  {
    name: 'HTTP 401',
    kind: 'http',
    stderr: `[http @ 0x55650a8264c0] [warning] HTTP error 401 Unauthorized
[error] http://admin:pw@127.0.0.1:18081/401: Server returned 401 Unauthorized (authorization failed)`,
    exitCode: 1,
    code: 'auth',
    message: /Server returned 401/,
  },
  {
    name: 'RTSP 404',
    kind: 'rtsp',
    stderr: `[rtsp @ 0x55bc64c76bc0] [error] method DESCRIBE failed: 404 Not Found
[error] rtsp://admin:pw@127.0.0.1:18554/cam: Server returned 404 Not Found`,
    exitCode: 1,
    code: 'not_found',
    message: /^Not found: .*404 Not Found/,
  },
  {
    name: 'missing file',
    kind: 'file',
    stderr: '[error] /nonexistent/x.mp4: No such file or directory',
    exitCode: 1,
    code: 'not_found',
    message: /^Not found: \/nonexistent\/x\.mp4: No such file or directory$/,
  },
  {
    name: 'missing capture device',
    kind: 'v4l2',
    stderr: `[video4linux2,v4l2 @ 0x5626c9359ac0] [error] Cannot open video device /dev/video0: No such file or directory
[error] /dev/video0: No such file or directory`,
    exitCode: 1,
    code: 'not_found',
    message: /\/dev\/video0/,
  },
  {
    name: 'a text file renamed .mp4 (and an empty file, and random bytes named .mp4)',
    kind: 'file',
    stderr: `[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55b71b89aac0] [warning] Format mov,mp4,m4a,3gp,3g2,mj2 detected only with low score of 1, misdetection possible!
[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55b71b89aac0] [error] moov atom not found
[error] text.mp4: Invalid data found when processing input`,
    exitCode: 1,
    code: 'invalid_input',
    message: /^Not a readable video: text\.mp4: Invalid data found when processing input$/,
  },
  {
    name: 'random bytes ffmpeg takes for a "bin" picture: ends with no frame',
    kind: 'file',
    stderr: `[error] random.bin: Input/output error
[warning] Output file is empty, nothing was encoded (check -ss / -t / -frames parameters if used)`,
    exitCode: 0,
    code: 'invalid_input',
    message: /no video frame could be decoded \(random\.bin: Input\/output error\)/,
  },
  {
    name: 'random bytes named .dat: no stream found in it',
    kind: 'file',
    stderr: `[luodat @ 0x560ccc8b18c0] [warning] Format luodat detected only with low score of 1, misdetection possible!
[fatal] noise.dat: could not find codec parameters`,
    exitCode: 1,
    code: 'invalid_input',
    message: /noise\.dat: could not find codec parameters/,
  },
  {
    name: 'a camera stream without the size of its pictures',
    kind: 'rtsp',
    stderr:
      '[rtsp @ 0x55] [warning] Could not find codec parameters for stream 0 (Video: h264, none): unspecified size',
    exitCode: 1,
    code: 'codec',
    message: /unspecified size/,
  },
  {
    name: 'random bytes ffmpeg mistakes for h263',
    kind: 'file',
    stderr: `[h263 @ 0x55d2b4e01a80] [warning] Format h263 detected only with low score of 25, misdetection possible!
[IMGUTILS @ 0x7ffe2d0e7140] [error] Picture size 0x0 is invalid
[h263 @ 0x55d2b4e02dc0] [error] header damaged
[h263 @ 0x55d2b4e01a80] [warning] Could not find codec parameters for stream 0 (Video: h263, none): unspecified size
[error] Error while decoding stream #0:0: Invalid argument
[error] Cannot determine format of input stream 0:0 after EOF
[fatal] Error marking filters as finished`,
    exitCode: 1,
    code: 'invalid_input',
    message: /^Not a readable video: ffmpeg could only guess the format \(h263\)/,
  },
  {
    name: 'random bytes ffmpeg mistakes for lyrics (lrc)',
    kind: 'file',
    stderr: `[lrc @ 0x55c630ba4a80] [warning] Format lrc detected only with low score of 5, misdetection possible!
[fatal] Stream specifier ':v:0' in filtergraph description [0:v:0]fps=2 matches no streams.`,
    exitCode: 1,
    code: 'invalid_input',
    message: /guess the format \(lrc\); the input has no video stream$/,
  },
  {
    name: 'unknown protocol',
    kind: 'file',
    stderr: `[error] ftp2://x: Protocol not found
[error] Did you mean file:ftp2://x?`,
    exitCode: 1,
    code: 'invalid_input',
    message: /Protocol not found/,
  },
  {
    name: 'audio-only file',
    kind: 'file',
    stderr:
      "[fatal] Stream specifier ':v:0' in filtergraph description [0:v:0]fps=2,split=2[det_in][view_in];[det_in]scale=416:416,format=bgr24[det];[view_in]scale=w='trunc(min(640,iw)/2)*2':h=-2,format=rgba[view] matches no streams.",
    exitCode: 1,
    code: 'codec',
    message: /^No decodable video stream: the input has no video stream$/,
  },
  {
    name: 'truncated mp4: decodes what it can, then the end',
    kind: 'file',
    stderr: `[mov,mp4,m4a,3gp,3g2,mj2 @ 0x558bdeacda80] [error] stream 0, offset 0x2f85b3: partial file
[mov,mp4,m4a,3gp,3g2,mj2 @ 0x558bdeacda80] [error] stream 0, offset 0x2f8b20: partial file`,
    exitCode: 0,
    frames: 44,
    code: 'ended',
    message: /^The video ended: the file reached its end$/,
  },
  {
    name: 'a network stream closed by the camera after frames',
    kind: 'rtmp',
    stderr: '[warning] rtmp://s/live: Invalid data found when processing input',
    exitCode: 0,
    frames: 100,
    code: 'ended',
    message: /the camera closed it/,
  },
  {
    name: 'HTTP 5xx',
    kind: 'http',
    stderr: `[http @ 0x55df975a84c0] [warning] HTTP error 500 Internal Server Error
[error] http://127.0.0.1:18081/500: Server returned 5XX Server Error reply`,
    exitCode: 1,
    code: 'error',
    message: /5XX Server Error/,
  },
];

function ctx(c: Case): FfmpegExitContext {
  return {
    kind: c.kind,
    lines: c.stderr.split('\n').map(parseLogLine),
    exitCode: c.exitCode,
    signal: null,
    frames: c.frames ?? 0,
    elapsedMs: c.elapsedMs ?? 50,
    ioTimeoutMs: 2000,
  };
}

for (const c of CASES) {
  test(`classifies real ffmpeg output: ${c.name} → ${c.code}`, () => {
    const p = classifyFfmpegExit(ctx(c));
    assert.equal(p.code, c.code, p.message);
    assert.match(p.message, c.message);
    assert.ok(p.message.length <= 300);
    assert.doesNotMatch(p.message, /secret|:pw@/);
  });
}

test('a missing ffmpeg is ffmpeg_missing, with what to do about it', () => {
  const spawnError = Object.assign(new Error('spawn /nonexistent/ffmpeg ENOENT'), { code: 'ENOENT' });
  const p = classifyFfmpegExit({
    kind: 'file',
    lines: [],
    exitCode: null,
    signal: null,
    frames: 0,
    spawnError,
    ffmpegPath: '/nonexistent/ffmpeg',
  });
  assert.equal(p.code, 'ffmpeg_missing');
  assert.match(p.message, /\/nonexistent\/ffmpeg: ENOENT.*FFMPEG_PATH/);
});

test('a process killed by a signal it was not sent by us is an error', () => {
  const p = classifyFfmpegExit({ kind: 'rtsp', lines: [], exitCode: null, signal: 'SIGKILL', frames: 10 });
  assert.deepEqual(p, { code: 'error', message: 'ffmpeg failed: ffmpeg was killed by SIGKILL' });
});

test('single lines point to their code', () => {
  assert.equal(classifyFfmpegLine('Connection to tcp://h:554 failed: No route to host'), 'unreachable');
  assert.equal(
    classifyFfmpegLine('Failed to resolve hostname x: Temporary failure in name resolution'),
    'unreachable',
  );
  assert.equal(classifyFfmpegLine('Network is unreachable'), 'unreachable');
  assert.equal(classifyFfmpegLine('Output file #0 does not contain any stream'), 'codec');
  assert.equal(classifyFfmpegLine("Stream map '0:v:0' matches no streams."), 'codec');
  assert.equal(classifyFfmpegLine('Decoder (codec hevc) not found for input stream #0:0'), 'codec');
  assert.equal(classifyFfmpegLine('frame=  10 fps=0.0'), null);
});

test('messages are cut to 300 characters and never carry credentials', () => {
  const p = makeProblem('error', `rtsp://u:topsecret@h/${'x'.repeat(500)}`);
  assert.equal(p.message.length, 300);
  assert.doesNotMatch(p.message, /topsecret/);
});

test('a problem becomes a coded error for a one-shot run', () => {
  const err = problemToError({ code: 'not_found', message: 'Not found: a.mp4: No such file or directory' });
  assert.ok(err instanceof IcebergError);
  assert.equal(err.code, 'ICEBERG_ERR_NOT_FOUND');
  assert.equal(problemToError({ code: 'codec', message: 'x' }).code, 'ICEBERG_ERR_CAMERA_INPUT');
  assert.equal(problemToError({ code: 'ffmpeg_missing', message: 'x' }).code, 'ICEBERG_ERR_FFMPEG_MISSING');
});
