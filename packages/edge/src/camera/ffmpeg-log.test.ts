import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter, parseLogLine, parseVideoStreamLine, StreamInfoParser } from './ffmpeg-log.ts';

// Captured from ffmpeg 5.1 reading vtest.mp4 with the camera source's two outputs.
const DUMP = `[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/work/main/assets/samples/vtest.mp4':
[info]   Metadata:
[info]     major_brand     : isom
[info]   Duration: 00:01:19.50, start: 0.000000, bitrate: 1107 kb/s
[info]   Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 768x576, 1106 kb/s, 10 fps, 10 tbr, 10240 tbn (default)
[info]     Metadata:
[info]       handler_name    : VideoHandler
[info] Stream mapping:
[info]   Stream #0:0 (h264) -> fps:default
[info]   format:default -> Stream #0:0 (rawvideo)
[info]   format:default -> Stream #1:0 (rawvideo)
[info] Output #0, rawvideo, to 'pipe:1':
[info]   Stream #0:0: Video: rawvideo (BGR[24] / 0x18524742), bgr24(pc, gbr/unknown/unknown, progressive), 416x416, q=2-31, 8306 kb/s, 2 fps, 2 tbn
[info] Output #1, rawvideo, to 'pipe:3':
[info]   Metadata:
[info]     encoder         : Lavf59.27.100
[info]   Stream #1:0: Video: rawvideo (RGBA / 0x41424752), rgba(pc, gbr/unknown/unknown, progressive), 640x480, q=2-31, 19660 kb/s, 2 fps, 2 tbn
`;

test('reads the camera stream and the size of each output from the stream dumps', () => {
  const p = new StreamInfoParser();
  for (const raw of DUMP.split('\n').filter(Boolean)) p.feed(parseLogLine(raw).text);
  assert.deepEqual(p.input, { codec: 'h264', width: 768, height: 576, fps: 10 });
  assert.deepEqual(p.outputSize(0), { width: 416, height: 416 });
  assert.deepEqual(p.outputSize(1), { width: 640, height: 480 });
  assert.equal(p.outputSize(2), null);
});

test('parses video stream lines of common cameras', () => {
  assert.deepEqual(
    parseVideoStreamLine(
      '  Stream #0:0: Video: h264 (Main), yuv420p(tv, bt709, progressive), 1920x1080, 29.97 fps, 29.97 tbr, 90k tbn',
    ),
    { codec: 'h264', width: 1920, height: 1080, fps: 29.97 },
  );
  assert.deepEqual(
    parseVideoStreamLine(
      '  Stream #0:0: Video: hevc (Main), yuvj420p(pc, bt709), 2560x1440, 25 tbr, 90k tbn',
    ),
    { codec: 'hevc', width: 2560, height: 1440, fps: 25 },
  );
  assert.deepEqual(
    parseVideoStreamLine(
      '  Stream #0:0: Video: mjpeg (Baseline), yuvj422p(pc, bt470bg/unknown/unknown), 640x480, 1k tbr, 1k tbn',
    ),
    { codec: 'mjpeg', width: 640, height: 480, fps: 1000 },
  );
  assert.equal(parseVideoStreamLine('  Stream #0:1: Audio: aac (LC), 8000 Hz, mono, fltp'), null);
});

test('parses levels and components of log lines', () => {
  assert.deepEqual(
    parseLogLine('[tcp @ 0x562d07985a80] [error] Connection to tcp://127.0.0.1:1 failed: Connection refused'),
    {
      level: 'error',
      component: 'tcp',
      text: 'Connection to tcp://127.0.0.1:1 failed: Connection refused',
    },
  );
  assert.deepEqual(
    parseLogLine('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55b71b89aac0] [warning] misdetection possible!'),
    {
      level: 'warning',
      component: 'mov,mp4,m4a,3gp,3g2,mj2',
      text: 'misdetection possible!',
    },
  );
  assert.deepEqual(parseLogLine('[fatal] Stream specifier matches no streams.'), {
    level: 'fatal',
    component: null,
    text: 'Stream specifier matches no streams.',
  });
  assert.equal(parseLogLine('[info]   Stream #0:0: Video').text, '  Stream #0:0: Video');
});

test('splits stderr into lines wherever the chunks break, at \\n or \\r', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('[info] a'), []);
  assert.deepEqual(s.push('bc\n[error] d\r\n[info] fr'), ['[info] abc', '[error] d']);
  assert.deepEqual(s.push(Buffer.from('ame=1\r[info] x\n')), ['[info] frame=1', '[info] x']);
  assert.deepEqual(s.push('tail'), []);
  assert.deepEqual(s.flush(), ['tail']);
});
