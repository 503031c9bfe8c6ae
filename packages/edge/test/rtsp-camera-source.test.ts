import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CameraSource } from '../src/camera/index.ts';
import { playRtsp, ROOT, type RtspCamera, startRtspCamera, until } from './helpers/rtsp-camera.ts';

describe('the converter as the camera simulator of the edge', { timeout: 90_000 }, () => {
  let cam: RtspCamera;

  before(async () => {
    cam = await startRtspCamera({ name: 'lobby' });
  });
  after(async () => {
    await cam?.stop();
  });

  test('a camera source (the edge) reads it over TCP, goes online and gets frames', async () => {
    const source = new CameraSource({ cameraId: 'lobby', input: cam.url, rtspTransport: 'tcp', fps: 5 });
    let frames = 0;
    let size = '';
    source.on('frame', (f) => {
      frames++;
      size = `${f.view.width}x${f.view.height}`;
    });
    source.start();
    try {
      await until(
        'the camera online with 5 frames',
        () => source.status.state === 'online' && frames >= 5,
        40_000,
      );
      assert.equal(source.status.stream?.codec, 'h264');
      assert.deepEqual([source.status.stream?.width, source.status.stream?.height], [768, 576]);
      assert.equal(size, '640x480');
    } finally {
      await source.stop();
    }
  });

  test('a non-H.264 file (vtest.avi, MPEG-4) is encoded to H.264 and plays', async () => {
    const avi = await startRtspCamera({ name: 'avi', input: join(ROOT, 'assets/samples/vtest.avi') });
    try {
      assert.equal(avi.feed.status.mode, 'encode');
      const r = await playRtsp(avi.url, 'tcp', 15);
      assert.equal(r.frames, 15, r.stderr.slice(-800));
      assert.match(r.stderr, /Video: h264/);
    } finally {
      await avi.stop();
    }
  });
});
