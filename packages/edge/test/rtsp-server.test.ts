import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { playRtsp, type RtspCamera, startRtspCamera, until } from './helpers/rtsp-camera.ts';

describe('GStreamer RTSP server fed by ffmpeg (the camera simulator)', { timeout: 120_000 }, () => {
  let mp4: RtspCamera;

  before(async () => {
    mp4 = await startRtspCamera({ name: 'lobby' });
  });
  after(async () => {
    await mp4?.stop();
  });

  test('the H.264 sample is copied (no encode) and plays over TCP at its own size', async () => {
    assert.equal(mp4.feed.status.mode, 'copy');
    const r = await playRtsp(mp4.url, 'tcp', 20);
    assert.equal(r.code, 0, r.stderr.slice(-800));
    assert.equal(r.frames, 20);
    assert.deepEqual([r.width, r.height], [768, 576]);
  });

  test('it plays over UDP too', async () => {
    const r = await playRtsp(mp4.url, 'udp', 20);
    assert.equal(r.code, 0, r.stderr.slice(-800));
    assert.equal(r.frames, 20);
    assert.deepEqual([r.width, r.height], [768, 576]);
    assert.match(r.stderr, /rtsp|Input #0/);
  });

  test('two players at once share the feed', async () => {
    const [a, b] = await Promise.all([playRtsp(mp4.url, 'tcp', 30), playRtsp(mp4.url, 'udp', 30)]);
    assert.equal(a.frames, 30, a.stderr.slice(-500));
    assert.equal(b.frames, 30, b.stderr.slice(-500));
  });

  test('a mount that does not exist is refused (404), the others keep playing', async () => {
    const r = await playRtsp(mp4.url.replace(/lobby$/, 'nope'), 'tcp', 5, 20_000);
    assert.notEqual(r.code, 0);
    assert.equal(r.frames, 0);
    assert.match(r.stderr, /404|Not Found/i);
  });

  test('a feed whose ffmpeg dies is restarted and the camera plays again', async () => {
    const pid = mp4.feed.pid!;
    process.kill(pid, 'SIGKILL');
    await until('the feed waiting to restart', () => mp4.feed.status.state === 'waiting', 10_000);
    assert.ok(mp4.feed.status.problem, 'the failure is reported');
    await until('the feed running again', () => mp4.feed.status.state === 'running', 20_000);
    assert.notEqual(mp4.feed.pid, pid);
    const r = await playRtsp(mp4.url, 'tcp', 10);
    assert.equal(r.frames, 10, r.stderr.slice(-800));
  });

  test('a crashed server comes back on the same port with its mounts', async () => {
    const pid = mp4.server.pid!;
    const restarted = new Promise<number>((resolve) => mp4.server.once('restarted', resolve));
    process.kill(pid, 'SIGKILL');
    const port = await restarted;
    assert.equal(port, mp4.port);
    assert.notEqual(mp4.server.pid, pid);
    const r = await playRtsp(mp4.url, 'tcp', 10);
    assert.equal(r.frames, 10, r.stderr.slice(-800));
  });
});
