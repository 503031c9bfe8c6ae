import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildFfmpegArgs, type FfmpegArgsOptions } from './ffmpeg-args.ts';
import { classifyInput } from './input-kind.ts';

function args(input: string, extra: Partial<FfmpegArgsOptions> = {}): string[] {
  return buildFfmpegArgs({
    input: classifyInput(input),
    fps: 2,
    live: true,
    loop: false,
    realtime: true,
    rtspTransport: 'tcp',
    ioTimeoutMs: 10_000,
    viewMaxWidth: 640,
    ...extra,
  });
}

/** The options that come before `-i`. */
function inputPart(a: string[]): string[] {
  return a.slice(a.indexOf('level+info') + 1, a.indexOf('-i'));
}

test('an RTSP camera: transport, socket timeout in µs and low-delay flags before -i', () => {
  const a = args('rtsp://admin:pw@10.0.0.5/stream1');
  assert.deepEqual(a.slice(0, 5), ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+info']);
  assert.deepEqual(inputPart(a), [
    '-rtsp_transport',
    'tcp',
    '-timeout',
    '10000000',
    '-fflags',
    'nobuffer',
    '-flags',
    'low_delay',
  ]);
  assert.equal(a[a.indexOf('-i') + 1], 'rtsp://admin:pw@10.0.0.5/stream1');
  assert.deepEqual(inputPart(args('rtsp://h/x', { rtspTransport: 'udp', live: false })), [
    '-rtsp_transport',
    'udp',
    '-timeout',
    '10000000',
  ]);
});

test('one filter graph feeds both outputs the same sampled instants', () => {
  const a = args('rtsp://h/x', { fps: 5, viewMaxWidth: 801 });
  const graph = a[a.indexOf('-filter_complex') + 1]!;
  assert.match(graph, /^\[0:v:0\]fps=5,split=2\[det_in\]\[view_in\];/);
  assert.match(graph, /\[det_in\]scale=416:416,format=bgr24\[det\]/);
  assert.match(graph, /\[view_in\]scale=w='trunc\(min\(800,iw\)\/2\)\*2':h=-2,format=rgba\[view\]/);
  const tail = a.slice(a.indexOf('-filter_complex') + 2);
  assert.deepEqual(tail, [
    ...['-map', '[det]', '-an', '-sn', '-dn', '-f', 'rawvideo', 'pipe:1'],
    ...['-map', '[view]', '-an', '-sn', '-dn', '-f', 'rawvideo', 'pipe:3'],
  ]);
  assert.match(args('x.mp4', { fps: 0.5 }).join(' '), /fps=0\.5,/);
});

test('files: -re when realtime, -stream_loop -1 when looping, nothing otherwise', () => {
  assert.deepEqual(inputPart(args('a.mp4', { realtime: true, loop: true })), ['-re', '-stream_loop', '-1']);
  assert.deepEqual(inputPart(args('a.mp4', { realtime: false, loop: false })), []);
});

test('http, rtmp and v4l2 inputs get their own options', () => {
  const http = inputPart(args('http://cam/mjpg'));
  assert.deepEqual(http.slice(0, 2), ['-rw_timeout', '10000000']);
  assert.ok(http.includes('-reconnect'));
  assert.deepEqual(inputPart(args('rtmp://s/live/k', { live: false })), ['-rw_timeout', '10000000']);
  assert.deepEqual(
    inputPart(args('/dev/video0', { v4l2: { videoSize: '1280x720', framerate: 15, inputFormat: 'mjpeg' } })),
    ['-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '1280x720', '-framerate', '15'],
  );
  assert.deepEqual(inputPart(args('v4l2:///dev/video1')), ['-f', 'v4l2']);
});

test('more outputs of the same process go after the two frame outputs', () => {
  const recorder = ['-map', '0:v:0', '-c', 'copy', '-f', 'segment', '-segment_time', '10', 'rec/%05d.mp4'];
  const a = args('rtsp://h/x', {
    extraOutputs: [recorder, ['-map', '0:v:0', '-c', 'copy', '-f', 'flv', 'rtmp://s/live']],
  });
  const afterPipes = a.slice(a.indexOf('pipe:3') + 1);
  assert.deepEqual(afterPipes, [...recorder, '-map', '0:v:0', '-c', 'copy', '-f', 'flv', 'rtmp://s/live']);
  const withInputArgs = args('rtsp://h/x', { extraInputArgs: ['-use_wallclock_as_timestamps', '1'] });
  assert.deepEqual(inputPart(withInputArgs).slice(-2), ['-use_wallclock_as_timestamps', '1']);
});

test('rejects a non-positive fps', () => {
  assert.throws(() => args('a.mp4', { fps: 0 }), RangeError);
});
