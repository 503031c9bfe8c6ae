import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isIcebergError } from '@iceberg/common';
import { playRtsp } from '../../edge/test/helpers/rtsp-camera.ts';
import { convertCommand } from '../src/commands/convert.ts';
import { UsageError } from '../src/usage-error.ts';

const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
const iceberg = join(root, 'packages/cli/bin/iceberg');
const sample = join(root, 'assets/samples/vtest.mp4');

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Live processes (zombies excluded): pid, parent pid and command line. */
function processes(): { pid: number; ppid: number; cmdline: string }[] {
  const out: { pid: number; ppid: number; cmdline: string }[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const m = /^\d+ \(.*\) (\S) (\d+)/.exec(stat);
      if (!m || m[1] === 'Z') continue;
      const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ');
      out.push({ pid: Number(p), ppid: Number(m[2]), cmdline });
    } catch {}
  }
  return out;
}

/** The RTSP launchers listening on `port`. */
const launchersOn = (port: number) =>
  processes().filter((p) => p.cmdline.includes('rtsp-server.py') && p.cmdline.includes(`--port ${port}`));

describe('iceberg convert serves a file as an RTSP camera', { timeout: 120_000 }, () => {
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let url = '';
  let port = 0;
  const exited = () => child.exitCode !== null || child.signalCode !== null;

  before(async () => {
    port = await freeTcpPort();
    child = spawn(
      iceberg,
      [
        'convert',
        '--input',
        sample,
        '--name',
        'gate',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--loop',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await until('the rtsp:// URL', () => /rtsp:\/\/\S+/.test(stdout) || exited(), 40_000);
    url = /rtsp:\/\/\S+/.exec(stdout)?.[0] ?? '';
    assert.ok(url, `no URL printed; stdout: ${stdout} stderr: ${stderr}`);
  });

  after(() => {
    if (!exited()) child.kill('SIGKILL');
  });

  test('it prints the URL of the camera on the port asked for', () => {
    assert.equal(url, `rtsp://127.0.0.1:${port}/gate`);
    assert.match(stdout, /H\.264 copied/);
  });

  test('ffmpeg plays it over TCP: frames of the right size', async () => {
    const r = await playRtsp(url, 'tcp', 25);
    assert.equal(r.code, 0, r.stderr.slice(-800));
    assert.equal(r.frames, 25);
    assert.deepEqual([r.width, r.height], [768, 576]);
  });

  test('ffmpeg plays it over UDP: frames of the right size', async () => {
    const r = await playRtsp(url, 'udp', 25);
    assert.equal(r.code, 0, r.stderr.slice(-800));
    assert.equal(r.frames, 25);
    assert.deepEqual([r.width, r.height], [768, 576]);
  });

  test('two players at once', async () => {
    const [a, b] = await Promise.all([playRtsp(url, 'tcp', 20), playRtsp(url, 'tcp', 20)]);
    assert.equal(a.frames, 20, a.stderr.slice(-500));
    assert.equal(b.frames, 20, b.stderr.slice(-500));
  });

  test('SIGTERM stops it: exit 0, and its RTSP server and ffmpeg are gone', async () => {
    const children = processes().filter((p) => p.ppid === child.pid);
    assert.ok(
      children.some((p) => p.cmdline.includes('rtsp-server.py')),
      'the RTSP server runs',
    );
    assert.ok(
      children.some((p) => /ffmpeg .*-f mpegts .*udp:\/\/127\.0\.0\.1/.test(p.cmdline)),
      'the feed runs',
    );
    child.kill('SIGTERM');
    await until('convert exits', exited, 15_000);
    assert.equal(child.exitCode, 0, stderr);
    const alive = () => new Set(processes().map((p) => p.pid));
    await until('its processes gone', () => children.every((p) => !alive().has(p.pid)), 10_000);
    const r = await playRtsp(url, 'tcp', 1, 10_000);
    assert.equal(r.frames, 0);
  });
});

describe('iceberg convert refuses what it cannot serve', { timeout: 60_000 }, () => {
  test('a missing input (the real command): a clear error naming it, exit 1, nothing left running', async () => {
    const port = await freeTcpPort();
    const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const c = spawn(
        iceberg,
        ['convert', '--input', '/nonexistent/door.mp4', '--name', 'door', '--port', String(port)],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: 50_000,
        },
      );
      let stderr = '';
      c.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      c.on('close', (status) => resolve({ status, stderr }));
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ICEBERG_ERR_NOT_FOUND/);
    assert.match(r.stderr, /\/nonexistent\/door\.mp4: No such file or directory/);
    assert.equal(launchersOn(port).length, 0);
  });

  // The other refusals in this process (each CLI start costs seconds of CPU on a loaded box).
  test('a file that is not a video: ICEBERG_ERR_CAMERA_INPUT', async () => {
    await assert.rejects(
      convertCommand([
        '--input',
        join(root, 'package.json'),
        '--name',
        'x',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
      ]),
      (err: unknown) => isIcebergError(err) && err.code === 'ICEBERG_ERR_CAMERA_INPUT',
    );
  });

  test('usage errors: no --name, a name that is not a path segment, a bad port', async () => {
    await assert.rejects(convertCommand(['--input', sample]), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /one --name per --input/);
      return true;
    });
    await assert.rejects(convertCommand(['--input', sample, '--name', 'a/b']), /--name "a\/b"/);
    await assert.rejects(convertCommand(['--input', sample, '--name', 'a', '--port', '99999']), UsageError);
    await assert.rejects(convertCommand(['--input', sample, '--name', 'a', '--name', 'b']), UsageError);
  });

  test('a port in use: ICEBERG_ERR_ADDRESS_IN_USE', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await assert.rejects(
        convertCommand(['--input', sample, '--name', 'a', '--host', '127.0.0.1', '--port', String(port)]),
        (err: unknown) => isIcebergError(err) && err.code === 'ICEBERG_ERR_ADDRESS_IN_USE',
      );
    } finally {
      server.close();
    }
  });
});
