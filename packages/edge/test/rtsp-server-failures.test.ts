import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isIcebergError } from '@iceberg/common';
import { RtspServer } from '../src/rtsp/index.ts';
import { alive, ROOT, until } from './helpers/rtsp-camera.ts';

describe('the RTSP server fails clearly and never outlives us', { timeout: 60_000 }, () => {
  test('python without python3-gi: ICEBERG_ERR_RTSP_SERVER_MISSING naming the Debian packages', async () => {
    // `-S` leaves out site-packages, where Debian's python3-gi lives: exactly a python without gi.
    const server = new RtspServer({ host: '127.0.0.1', port: 0, pythonArgs: ['-S'] });
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(isIcebergError(err));
      assert.equal(err.code, 'ICEBERG_ERR_RTSP_SERVER_MISSING');
      assert.match(err.message, /No module named 'gi'/);
      assert.match(err.message, /python3-gi/);
      assert.match(err.message, /gir1\.2-gst-rtsp-server-1\.0/);
      return true;
    });
  });

  test('no python at that path: the same code, and what to install', async () => {
    const server = new RtspServer({ port: 0, pythonPath: '/nonexistent/python3' });
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(isIcebergError(err));
      assert.equal(err.code, 'ICEBERG_ERR_RTSP_SERVER_MISSING');
      assert.match(err.message, /\/nonexistent\/python3/);
      assert.match(err.message, /apt-get install .*python3-gi/);
      return true;
    });
  });

  test('a port in use: ICEBERG_ERR_ADDRESS_IN_USE', async () => {
    const first = new RtspServer({ host: '127.0.0.1', port: 0 });
    const port = await first.start();
    try {
      await assert.rejects(new RtspServer({ host: '127.0.0.1', port }).start(), (err: unknown) => {
        assert.ok(isIcebergError(err));
        assert.equal(err.code, 'ICEBERG_ERR_ADDRESS_IN_USE');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        return true;
      });
    } finally {
      await first.stop();
    }
  });

  test('a bad mount name is refused before anything runs', async () => {
    const server = new RtspServer({ host: '127.0.0.1', port: 0 });
    await server.start();
    try {
      await assert.rejects(server.addMount('../etc', 5000), /cannot be an RTSP mount name/);
    } finally {
      await server.stop();
    }
    assert.equal(server.pid, undefined);
  });

  test('the launcher goes when the process that started it is killed', async () => {
    // A Node process starts a server, prints the launcher's pid and is then SIGKILLed.
    const script = `
      import { RtspServer } from ${JSON.stringify(join(ROOT, 'packages/edge/src/rtsp/rtsp-server.ts'))};
      const s = new RtspServer({ host: '127.0.0.1', port: 0 });
      await s.start();
      console.log('pid', s.pid);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: ROOT,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    await until('the launcher pid', () => /pid \d+/.test(out), 30_000);
    const launcher = Number(/pid (\d+)/.exec(out)![1]);
    assert.ok(alive(launcher));
    child.kill('SIGKILL');
    await until('the launcher gone', () => !alive(launcher), 10_000);
  });
});
