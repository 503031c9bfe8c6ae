import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHarness, type Harness } from './api-harness.ts';

const SAMPLE = resolve(import.meta.dirname, '../../../assets/samples/vtest.mp4');

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 1;
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

type Result =
  | { ok: true; stream: { width: number; height: number; codec: string; fps: number } }
  | { ok: false; problem: { code: string; message: string } };

describe('camera connection test API', () => {
  let h: Harness;
  const admin = 'admin@org-a.test';
  const viewer = 'viewer@org-a.test';
  const probe = (email: string, input: string) =>
    h.as(email, { method: 'POST', url: '/api/cameras/test', payload: { input } });

  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  test('the sample file: ok, 768×576 h264', async () => {
    const r = await probe(admin, SAMPLE);
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as Result;
    assert.ok(body.ok, r.body);
    assert.equal(body.stream.width, 768);
    assert.equal(body.stream.height, 576);
    assert.equal(body.stream.codec, 'h264');
  });

  test('a closed RTSP port: unreachable, the password never shown', async () => {
    const port = await closedPort();
    const r = await probe(admin, `rtsp://user:secret@127.0.0.1:${port}/x`);
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as Result;
    assert.equal(body.ok, false, r.body);
    if (!body.ok) assert.equal(body.problem.code, 'unreachable', r.body);
    assert.ok(!r.body.includes('secret'), r.body);
  });

  test('a missing file: not_found', async () => {
    const r = await probe(admin, '/nonexistent/iceberg-missing.mp4');
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as Result;
    assert.equal(body.ok, false, r.body);
    if (!body.ok) assert.equal(body.problem.code, 'not_found', r.body);
  });

  test('an invalid input: 400', async () => {
    const r = await probe(admin, 'ftp://cam/x');
    assert.equal(r.statusCode, 400, r.body);
  });

  test('a viewer: 403; no token: 401', async () => {
    assert.equal((await probe(viewer, SAMPLE)).statusCode, 403);
    const r = await h.app.inject({ method: 'POST', url: '/api/cameras/test', payload: { input: SAMPLE } });
    assert.equal(r.statusCode, 401);
  });

  test('more than two probes at once in one organisation: 429', async () => {
    const port = await closedPort();
    const slow = `rtsp://127.0.0.1:${port}/y`;
    const results = await Promise.all([probe(admin, SAMPLE), probe(admin, SAMPLE), probe(admin, slow)]);
    const codes = results.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [200, 200, 429]);
  });
});
