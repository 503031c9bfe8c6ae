import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
const iceberg = join(root, 'packages/cli/bin/iceberg');
const sample = join(root, 'assets/samples/vtest.mp4');
const tmp = mkdtempSync(join(tmpdir(), 'iceberg-restream-cli-'));

function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

describe('iceberg restream', { timeout: 90_000 }, () => {
  const procs: ChildProcess[] = [];
  after(() => {
    for (const p of procs) p.kill('SIGKILL');
  });

  test('serves a published stream as HLS under the printed URL, refuses a wrong key, and stops cleanly', async () => {
    const config = join(tmp, 'restream.yaml');
    writeFileSync(config, `dataDir: ${join(tmp, 'data')}\nlog: { level: error }\n`);
    const server = spawn(
      iceberg,
      ['restream', '--config', config, '--port', '0', '--rtmp-port', '0', '--stream', 'door'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    procs.push(server);
    let out = '';
    server.stdout?.on('data', (c) => (out += c));
    server.stderr?.on('data', (c) => (out += c));
    const deadline = Date.now() + 30_000;
    while (!/WebSocket: /.test(out)) {
      assert.ok(Date.now() < deadline && server.exitCode === null, `restream did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const publish = /publish: +(rtmp:\S+)/.exec(out)?.[1];
    const hls = /HLS: +(http:\S+)/.exec(out)?.[1];
    assert.ok(publish && hls, out);
    assert.match(publish, /\/live\/door\?key=/);

    const wrong = spawnSync(
      'ffmpeg',
      [
        '-v',
        'error',
        '-re',
        '-t',
        '3',
        '-i',
        sample,
        '-c',
        'copy',
        '-f',
        'flv',
        publish.replace(/key=.*/, 'key=guess'),
      ],
      {
        timeout: 20_000,
      },
    );
    assert.notEqual(wrong.status, 0, 'a publish with a wrong key is refused');

    const push = spawn(
      'ffmpeg',
      ['-v', 'error', '-re', '-stream_loop', '-1', '-i', sample, '-c', 'copy', '-f', 'flv', publish],
      {
        stdio: 'ignore',
      },
    );
    procs.push(push);
    const r = await fetch(hls);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /#EXTINF/);
    const forged = await fetch(
      hls.replace(/\/live\/hls\/[^/]+\//, '/live/hls/v1.Zm9yZ2Vk.Zm9yZ2VkIHNpZ25hdHVyZQ/'),
    );
    assert.equal(forged.status, 403);

    push.kill('SIGTERM');
    await exited(push);
    server.kill('SIGTERM');
    assert.equal(await exited(server), 0);
    // nginx went with it: the RTMP port is closed.
    const again = spawnSync(
      'ffmpeg',
      ['-v', 'error', '-t', '1', '-i', sample, '-c', 'copy', '-f', 'flv', publish],
      { timeout: 15_000 },
    );
    assert.notEqual(again.status, 0);
  });

  test('a bad flag is a usage error', () => {
    const r = spawnSync(iceberg, ['restream', '--rtmp-port', 'lots'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--rtmp-port takes a port number/);
    const s = spawnSync(iceberg, ['restream', '--stream', '../etc'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(s.status, 2);
  });
});
