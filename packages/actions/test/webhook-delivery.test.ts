import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ActionDispatcher, type RetryPolicy, WebhookNotifier } from '../src/index.ts';
import { attemptLog, closedPort, sampleAlert } from './fixtures.ts';

type Verify = (
  secret: string,
  rawBody: Buffer,
  headers: IncomingHttpHeaders,
  toleranceSec?: number,
) => boolean;

/** The verification code from the README, run as a receiver would run it. */
async function documentedRecipe(): Promise<Verify> {
  const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
  const block = /<!-- signature-recipe[^>]*-->\s*```js\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'the README has the signature recipe');
  const file = join(mkdtempSync(join(tmpdir(), 'iceberg-recipe-')), 'verify.mjs');
  writeFileSync(file, block);
  const mod = (await import(pathToFileURL(file).href)) as { verifyIcebergSignature: Verify };
  return mod.verifyIcebergSignature;
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/** A webhook receiver on 127.0.0.1: each path answers from its script (the last answer repeats). */
function receiver() {
  const received: Received[] = [];
  const scripts = new Map<string, Array<(res: ServerResponse) => void>>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      const script = scripts.get(path) ?? [(r) => r.writeHead(404).end('no such hook')];
      const n = received.filter((r) => r.path === path).length;
      script[Math.min(n, script.length) - 1]!(res);
    });
  });
  return {
    received,
    on: (path: string, ...answers: Array<(res: ServerResponse) => void>) => scripts.set(path, answers),
    hits: (path: string) => received.filter((r) => r.path === path),
    server,
  };
}

const status =
  (code: number, headers: Record<string, string> = {}, body = '') =>
  (res: ServerResponse) =>
    res.writeHead(code, headers).end(body);

const fastRetry: Partial<RetryPolicy> = {
  attempts: 4,
  initialDelayMs: 20,
  maxDelayMs: 100,
  jitter: 0.1,
  maxRetryAfterMs: 300,
};

describe('webhook delivery to a real HTTP server', { timeout: 20_000 }, () => {
  const hooks = receiver();
  let base = '';
  let verify: Verify;

  before(async () => {
    verify = await documentedRecipe();
    await new Promise<void>((r) => hooks.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(hooks.server.address() as { port: number }).port}`;
  });
  after(async () => {
    hooks.server.closeAllConnections();
    await new Promise((r) => hooks.server.close(r));
  });

  function dispatcher(retry: Partial<RetryPolicy> = fastRetry, timeoutMs = 2000) {
    const log = attemptLog();
    const d = new ActionDispatcher({
      notifiers: [new WebhookNotifier({ timeoutMs })],
      record: log.record,
      retry,
    });
    return { d, log };
  }

  test('delivers the alert as JSON with a signature that the documented recipe verifies', async () => {
    hooks.on('/signed', status(204));
    const { d, log } = dispatcher();
    const alert = sampleAlert();
    const [result] = await d.dispatch(alert, [{ type: 'webhook', url: `${base}/signed`, secret: 'hush' }], {
      alertUrl: 'https://dvr.example.com/alerts/alert-0001',
    });
    assert.equal(result!.ok, true);
    assert.equal(result!.statusCode, 204);

    const [req] = hooks.hits('/signed');
    assert.ok(req);
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['user-agent'], 'Iceberg/0.1');
    assert.equal(req.headers['x-iceberg-event'], 'alert');
    assert.match(String(req.headers['x-iceberg-delivery']), /^[0-9a-f-]{36}$/);
    assert.ok(Math.abs(Number(req.headers['x-iceberg-timestamp']) - Date.now() / 1000) < 5);
    assert.match(String(req.headers['x-iceberg-signature']), /^sha256=[0-9a-f]{64}$/);
    assert.deepEqual(JSON.parse(req.body.toString('utf8')), {
      ...alert,
      alertUrl: 'https://dvr.example.com/alerts/alert-0001',
    });

    assert.equal(verify('hush', req.body, req.headers), true, 'the right secret verifies');
    assert.equal(verify('wrong', req.body, req.headers), false, 'the wrong secret is rejected');
    const tampered = Buffer.from(req.body.toString('utf8').replace('"score":0.87', '"score":0.99'));
    assert.equal(verify('hush', tampered, req.headers), false, 'a changed body is rejected');

    assert.deepEqual(
      log.attempts.map((a) => [a.action, a.attempt, a.ok, a.statusCode, a.outcome]),
      [[`webhook ${base}/signed`, 1, true, 204, 'delivered']],
    );
    assert.ok(!JSON.stringify(log.attempts).includes('hush'));
  });

  test('without a secret there is no signature header, and a wrongly configured receiver rejects', async () => {
    hooks.on('/unsigned', status(200));
    const { d } = dispatcher();
    await d.dispatch(sampleAlert(), [{ type: 'webhook', url: `${base}/unsigned` }]);
    const [req] = hooks.hits('/unsigned');
    assert.equal(req!.headers['x-iceberg-signature'], undefined);
    assert.equal(verify('hush', req!.body, req!.headers), false);
  });

  test('500 twice, then 200: three attempts recorded, the last one delivered', async () => {
    hooks.on('/flaky', status(500, {}, 'database is down'), status(500), status(200, {}, 'thanks'));
    const { d, log } = dispatcher();
    const [result] = await d.dispatch(sampleAlert(), [
      { type: 'webhook', url: `${base}/flaky`, secret: 's' },
    ]);
    assert.equal(result!.ok, true);
    assert.equal(result!.attempts, 3);
    assert.deepEqual(
      log.attempts.map((a) => [a.attempt, a.ok, a.statusCode, a.outcome]),
      [
        [1, false, 500, 'retrying'],
        [2, false, 500, 'retrying'],
        [3, true, 200, 'delivered'],
      ],
    );
    assert.equal(log.attempts[0]!.error, 'HTTP 500: database is down');
    const ids = new Set(hooks.hits('/flaky').map((r) => r.headers['x-iceberg-delivery']));
    assert.equal(ids.size, 3, 'each attempt has its own delivery id');
  });

  test('404 is permanent: one attempt', async () => {
    hooks.on('/gone', status(404, {}, 'not here'));
    const { d, log } = dispatcher();
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'webhook', url: `${base}/gone` }]);
    assert.equal(result!.outcome, 'failed');
    assert.equal(hooks.hits('/gone').length, 1);
    assert.deepEqual(
      log.attempts.map((a) => [a.attempt, a.statusCode, a.outcome, a.error]),
      [[1, 404, 'failed', 'HTTP 404: not here']],
    );
  });

  test('a server slower than the timeout: retried, then recorded as failed with "timeout"', async () => {
    const pending: ServerResponse[] = [];
    hooks.on('/slow', (res) => pending.push(res));
    const { d, log } = dispatcher({ ...fastRetry, attempts: 2 }, 150);
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'webhook', url: `${base}/slow` }]);
    for (const res of pending) res.destroy();
    assert.equal(result!.outcome, 'failed');
    assert.equal(hooks.hits('/slow').length, 2);
    assert.deepEqual(
      log.attempts.map((a) => [a.attempt, a.statusCode, a.outcome, a.error]),
      [
        [1, null, 'retrying', 'timeout after 150 ms'],
        [2, null, 'failed', 'timeout after 150 ms'],
      ],
    );
    assert.ok(log.attempts.every((a) => a.durationMs >= 140 && a.durationMs < 5000));
  });

  test('connection refused: retried and recorded', async () => {
    const port = await closedPort();
    const { d, log } = dispatcher({ ...fastRetry, attempts: 3 });
    const [result] = await d.dispatch(sampleAlert(), [
      { type: 'webhook', url: `http://127.0.0.1:${port}/x` },
    ]);
    assert.equal(result!.outcome, 'failed');
    assert.deepEqual(
      log.attempts.map((a) => a.outcome),
      ['retrying', 'retrying', 'failed'],
    );
    for (const a of log.attempts) assert.match(a.error!, /^network error: .*ECONNREFUSED/);
  });

  test('429 with Retry-After: honoured (not the short backoff), up to the cap', async () => {
    hooks.on('/busy', status(429, { 'retry-after': '3600' }), status(202));
    const { d, log } = dispatcher({ ...fastRetry, maxRetryAfterMs: 300 });
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'webhook', url: `${base}/busy` }]);
    assert.equal(result!.ok, true);
    const [first, second] = hooks.hits('/busy').map((r) => r.at);
    const gap = second! - first!;
    // The backoff alone would be about 20 ms; "an hour" is capped at 300 ms.
    assert.ok(gap >= 280 && gap < 5000, `waited ${gap} ms`);
    assert.deepEqual(
      log.attempts.map((a) => [a.statusCode, a.outcome, a.nextAttemptAt! - a.at >= 300]),
      [
        [429, 'retrying', true],
        [202, 'delivered', false],
      ],
    );
  });

  test('503 with a Retry-After below the cap is waited for in full', async () => {
    hooks.on('/later', status(503, { 'retry-after': '1' }), status(200));
    const { d } = dispatcher({ ...fastRetry, maxRetryAfterMs: 5000 });
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'webhook', url: `${base}/later` }]);
    assert.equal(result!.ok, true);
    const [first, second] = hooks.hits('/later').map((r) => r.at);
    assert.ok(second! - first! >= 950, `waited ${second! - first!} ms`);
  });

  test('an ftp:// URL is refused before any request', async () => {
    const { d, log } = dispatcher();
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'webhook', url: 'ftp://127.0.0.1/alerts' }]);
    assert.equal(result!.outcome, 'failed');
    assert.deepEqual(
      log.attempts.map((a) => [a.attempt, a.statusCode, a.outcome]),
      [[1, null, 'failed']],
    );
    assert.match(log.attempts[0]!.error!, /only http and https webhook URLs are allowed, not ftp/);
  });

  test('a redirect is not followed', async () => {
    hooks.on('/moved', status(302, { location: 'http://elsewhere.example/hook' }));
    const { d, log } = dispatcher();
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'webhook', url: `${base}/moved` }]);
    assert.equal(result!.outcome, 'failed');
    assert.equal(hooks.hits('/moved').length, 1);
    assert.match(
      log.attempts[0]!.error!,
      /HTTP 302: .*redirect to http:\/\/elsewhere.example\/hook.*not followed/,
    );
  });

  test('only a little of a big error body is read', async () => {
    hooks.on('/chatty', status(400, { 'content-type': 'text/plain' }, `${'x'.repeat(5 * 1024 * 1024)}`));
    const { d, log } = dispatcher();
    await d.dispatch(sampleAlert(), [{ type: 'webhook', url: `${base}/chatty` }]);
    assert.ok(log.attempts[0]!.error!.length < 220, 'the error quotes at most 200 characters');
  });
});
