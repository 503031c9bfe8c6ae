import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IcebergError } from '@iceberg/common';
import { classifyInput, redactText, redactUrl } from './input-kind.ts';

test('classifies every supported kind of camera input', () => {
  const cases: [string, string, string][] = [
    ['rtsp://10.0.0.5:554/stream1', 'rtsp', 'rtsp://10.0.0.5:554/stream1'],
    ['rtsps://cam.local/live', 'rtsp', 'rtsps://cam.local/live'],
    ['RTSP://CAM/x', 'rtsp', 'RTSP://CAM/x'],
    ['rtmp://server/live/key', 'rtmp', 'rtmp://server/live/key'],
    ['http://10.0.0.7/mjpg/video.mjpg', 'http', 'http://10.0.0.7/mjpg/video.mjpg'],
    ['https://example.com/live/index.m3u8', 'http', 'https://example.com/live/index.m3u8'],
    ['/srv/video/front door.mp4', 'file', '/srv/video/front door.mp4'],
    ['assets/samples/vtest.mp4', 'file', 'assets/samples/vtest.mp4'],
    ['file:///srv/video/a%20b.mp4', 'file', '/srv/video/a b.mp4'],
    ['clips/12:00.mp4', 'file', 'file:clips/12:00.mp4'],
    ['/dev/video0', 'v4l2', '/dev/video0'],
    ['v4l2:///dev/video2', 'v4l2', '/dev/video2'],
  ];
  for (const [input, kind, url] of cases) {
    const c = classifyInput(input);
    assert.equal(c.kind, kind, input);
    assert.equal(c.url, url, input);
  }
});

test('rejects what ffmpeg must not be given, with a clear coded error', () => {
  const bad = [
    '',
    '   ',
    'ftp://host/x.mp4',
    'udp://239.0.0.1:1234',
    'a.mp4\nb',
    'x\u0000y',
    'v4l2://video0',
  ];
  for (const input of bad) {
    assert.throws(
      () => classifyInput(input),
      (err: unknown) =>
        err instanceof IcebergError && err.code === 'ICEBERG_ERR_INPUT_INVALID' && err.message.length > 10,
      JSON.stringify(input),
    );
  }
  assert.throws(
    () => classifyInput('ftp://u:hunter2@host/x'),
    (err: unknown) => {
      assert.ok(err instanceof IcebergError);
      assert.match(err.message, /unsupported camera input/);
      assert.doesNotMatch(err.message, /hunter2/);
      assert.doesNotMatch(JSON.stringify(err.toJSON()), /hunter2/);
      return true;
    },
  );
});

test('redactUrl hides passwords, not the rest', () => {
  assert.equal(redactUrl('rtsp://admin:s3cr3t@10.0.0.5:554/h264'), 'rtsp://admin:***@10.0.0.5:554/h264');
  assert.equal(redactUrl('rtsp://10.0.0.5/h264'), 'rtsp://10.0.0.5/h264');
  assert.equal(redactUrl('rtsp://admin@10.0.0.5/h264'), 'rtsp://admin@10.0.0.5/h264');
  assert.equal(
    redactUrl('http://cam/video.cgi?user=admin&password=s3cr3t&res=hi'),
    'http://cam/video.cgi?user=admin&password=***&res=hi',
  );
  assert.equal(
    redactText("[error] rtsp://u:p%40ss@127.0.0.1:1/x: Connection refused and 'http://a:b@h/'"),
    "[error] rtsp://u:***@127.0.0.1:1/x: Connection refused and 'http://a:***@h/'",
  );
});
