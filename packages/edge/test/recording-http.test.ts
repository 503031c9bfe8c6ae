/**
 * The device's media endpoint over real segment files: ffmpeg cuts the sample into fragmented-MP4
 * segments filed as the recorder files them, the RecordingManager indexes them, and the endpoint
 * serves exactly those (whole, by byte range, HEAD) to the holder of the token, and nothing else:
 * no staging or index files, no other organisation, no paths out through `..` or links.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@iceberg/common';
import { IcebergConfig } from '@iceberg/config';
import { parseRange, RecordingHttpServer, RecordingManager, segmentRef } from '@iceberg/edge';
import { FFMPEG, recordingConfig, VTEST_MP4 } from './recording-helpers.ts';

const ORG = 'org-a';
const CAMERA = 'door';
const TOKEN = 'device-media-token-0123456789abcdef';

/** Cuts `seconds` of the sample into ~10 s fMP4 segments filed at `recordings/<org>/<camera>/<day>/<hour>/<startedAt>.mp4`. */
function fileSegments(dataDir: string, startedAt: number, seconds: number): string[] {
  const work = mkdtempSync(join(tmpdir(), 'iceberg-http-cut-'));
  execFileSync(FFMPEG, [
    ...['-hide_banner', '-loglevel', 'error', '-t', String(seconds), '-i', VTEST_MP4],
    ...['-map', '0:v', '-c', 'copy', '-f', 'segment', '-segment_time', '10', '-segment_format', 'mp4'],
    ...['-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof'],
    ...['-segment_list', join(work, 'list.csv'), '-segment_list_type', 'csv', join(work, 'seg%03d.mp4')],
  ]);
  const refs: string[] = [];
  let at = startedAt;
  for (const line of readFileSync(join(work, 'list.csv'), 'utf8').trim().split('\n')) {
    const [name, start, end] = line.split(',') as [string, string, string];
    const ref = segmentRef(ORG, CAMERA, at);
    mkdirSync(dirname(join(dataDir, ref)), { recursive: true });
    renameSync(join(work, name), join(dataDir, ref));
    refs.push(ref);
    at += Math.round((Number(end) - Number(start)) * 1000);
  }
  rmSync(work, { recursive: true, force: true });
  return refs;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw request (the path is sent as given: no normalisation of `..`). */
function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('parseRange', () => {
  test('single ranges: closed, open-ended, suffix; clipped to the file', () => {
    assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-5000', 1000), { start: 0, end: 999 });
    assert.deepEqual(parseRange('bytes=990-5000', 1000), { start: 990, end: 999 });
  });
  test('outside the file is unsatisfiable; other forms are ignored (the whole file)', () => {
    assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 1000), 'unsatisfiable');
    assert.equal(parseRange(undefined, 1000), null);
    assert.equal(parseRange('bytes=5-1', 1000), null);
    assert.equal(parseRange('bytes=0-1,5-9', 1000), null);
    assert.equal(parseRange('items=0-1', 1000), null);
  });
});

describe('recording.http config', () => {
  test('enabled without a token is an error naming the key', () => {
    const r = IcebergConfig.safeParse({ recording: { http: { enabled: true } } });
    assert.equal(r.success, false);
    assert.ok(r.error?.issues.some((i) => i.path.join('.') === 'recording.http.token'));
    const short = IcebergConfig.safeParse({ recording: { http: { enabled: true, token: 'short' } } });
    assert.ok(short.error?.issues.some((i) => i.path.join('.') === 'recording.http.token'));
    const ok = IcebergConfig.parse({ recording: { http: { enabled: true, token: TOKEN } } });
    assert.equal(ok.recording.http.port, 8090);
  });
});

describe('the device media endpoint', { timeout: 60_000 }, () => {
  let dir: string;
  let manager: RecordingManager;
  let endpoint: RecordingHttpServer;
  let port: number;
  let refs: string[];
  let outside: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iceberg-rec-http-'));
    const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
    refs = fileSegments(dir, t0, 25);
    // things that are on the disk but must never be served
    mkdirSync(join(dir, `recordings/.staging/${ORG}/${CAMERA}/run1`), { recursive: true });
    writeFileSync(join(dir, `recordings/.staging/${ORG}/${CAMERA}/run1/000000.mp4`), 'staging');
    mkdirSync(join(dir, 'recordings/org-b/door/20260101/00'), { recursive: true });
    writeFileSync(join(dir, 'recordings/org-b/door/20260101/00/1767225600000.mp4'), 'other org');
    outside = join(dir, 'secret.txt');
    writeFileSync(outside, 'outside the recordings');
    manager = new RecordingManager(recordingConfig({ org: ORG, dataDir: dir, cameras: [] }), {
      publish: async () => undefined,
      logger: silentLogger(),
    });
    await manager.start();
    assert.equal(manager.segmentByPath(refs[0] as string)?.segment.path, refs[0], 'the segments are indexed');
    endpoint = new RecordingHttpServer({
      config: { host: '127.0.0.1', port: 0, token: TOKEN },
      dataDir: dir,
      orgId: ORG,
      lookup: (p) => manager.segmentByPath(p),
      maxAuthFailuresPerMinute: 5,
    });
    await endpoint.start();
    port = Number(new URL(endpoint.url).port);
  });

  after(async () => {
    await endpoint?.stop();
    await manager?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('its URL names the address it listens on; /health answers without a token', async () => {
    assert.match(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await get(port, '/health');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { status: 'ok' });
  });

  test('a segment is served whole to the token holder, byte for byte', async () => {
    const file = readFileSync(join(dir, refs[0] as string));
    const r = await get(port, `/${refs[0]}`, auth);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'video/mp4');
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.equal(Number(r.headers['content-length']), file.length);
    assert.ok(r.body.equals(file));
  });

  test('byte ranges: 206 with Content-Range, suffix ranges, 416 past the end; HEAD has no body', async () => {
    const file = readFileSync(join(dir, refs[1] as string));
    const part = await get(port, `/${refs[1]}`, { ...auth, range: 'bytes=100-1099' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 100-1099/${file.length}`);
    assert.equal(Number(part.headers['content-length']), 1000);
    assert.ok(part.body.equals(file.subarray(100, 1100)));
    const tail = await get(port, `/${refs[1]}`, { ...auth, range: 'bytes=-16' });
    assert.equal(tail.status, 206);
    assert.ok(tail.body.equals(file.subarray(file.length - 16)));
    const past = await get(port, `/${refs[1]}`, { ...auth, range: `bytes=${file.length}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], `bytes */${file.length}`);
    const head = await get(port, `/${refs[1]}`, auth, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers['content-length']), file.length);
    assert.equal(head.body.length, 0);
  });

  test('without a token 401, with a wrong one 403 (and nothing is told about the file)', async () => {
    const none = await get(port, `/${refs[0]}`);
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    const wrong = await get(port, `/${refs[0]}`, { authorization: `Bearer ${TOKEN.replace(/.$/, 'x')}` });
    assert.equal(wrong.status, 403);
    const missing = await get(port, '/recordings/org-a/door/20260101/00/1.mp4', {
      authorization: 'Bearer nope',
    });
    assert.equal(missing.status, 403, 'a wrong token gets 403 whether or not the file exists');
    assert.ok(!wrong.body.toString().includes('mp4'));
  });

  test('only indexed segments: no staging, index, directory, other organisation, traversal or link', async () => {
    const paths = [
      `/recordings/.staging/${ORG}/${CAMERA}/run1/000000.mp4`,
      `/recordings/${ORG}/${CAMERA}/index.jsonl`,
      `/recordings/${ORG}/${CAMERA}/`,
      `/recordings/${ORG}/`,
      '/recordings/org-b/door/20260101/00/1767225600000.mp4',
      `/recordings/${ORG}/${CAMERA}/../../../secret.txt`,
      `/recordings/${ORG}/%2e%2e/%2e%2e/secret.txt`,
      `/${refs[0]?.replace('.mp4', '.MP4')}`,
      `/recordings/${ORG}/${CAMERA}/20260101/00/999.mp4`,
    ];
    for (const p of paths) {
      const r = await get(port, p, auth);
      assert.equal(r.status, 404, p);
      assert.ok(!r.body.toString().includes('outside the recordings'), p);
    }
    assert.equal((await get(port, '/', auth)).status, 404);
    assert.equal((await get(port, '/metrics', auth)).status, 404);
    assert.equal((await get(port, `/${refs[0]}`, auth, 'DELETE')).status, 405);
    // an indexed segment whose file was swapped for a link out of the recordings
    const last = join(dir, refs.at(-1) as string);
    unlinkSync(last);
    symlinkSync(outside, last);
    const linked = await get(port, `/${refs.at(-1)}`, auth);
    assert.equal(linked.status, 404);
    assert.ok(!linked.body.toString().includes('outside the recordings'));
  });

  test('an address that keeps failing is told to slow down (429), even with the right token then', async () => {
    for (let i = 0; i < 6; i++)
      await get(port, `/${refs[0]}`, { authorization: 'Bearer wrong-token-wrong-token-xx' });
    const r = await get(port, `/${refs[0]}`, auth);
    assert.equal(r.status, 429);
    assert.ok(r.headers['retry-after']);
    assert.equal((await get(port, '/health')).status, 200, 'health still answers');
  });
});
