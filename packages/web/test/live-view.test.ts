import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { AllInOne } from '@iceberg/cli/all-in-one';
import type { Page } from 'playwright-core';
import { type BrowserHarness, shots, startBrowserHarness } from './browser-harness.ts';

const run = promisify(execFile);
const email = 'owner@live-view.test';
const password = 'a-long-live-password';

interface Started {
  sessionId: string;
  playback: { hls: string; ws: string };
}

async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Pids of processes publishing to the stream (the device's push: its URL carries the key). */
function pushPids(streamId: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmdline.includes(`/live/${streamId}?key=`)) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

/** The video's currentTime, twice, a second apart: it advances when the video really plays. */
async function advances(page: Page): Promise<boolean> {
  const video = page.locator('[data-testid="live-video"]');
  const t0 = await video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime);
  await new Promise((r) => setTimeout(r, 1200));
  const t1 = await video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime);
  return t1 > t0 + 0.3;
}

async function mediaSequence(url: string): Promise<number | null> {
  const r = await fetch(url);
  if (r.status !== 200) return null;
  const m = /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(await r.text());
  return m ? Number(m[1]) : null;
}

describe('live view in Chromium (all-in-one on the sample footage, real nginx)', { timeout: 240_000 }, () => {
  let app: AllInOne;
  let h: BrowserHarness;
  let page: Page;

  before(async () => {
    h = await startBrowserHarness({ name: 'live-view', email, password });
    ({ app, page } = h);
    await page.goto(app.server.url);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('[data-testid="camera-tile"][data-camera-id="demo"]').waitFor();
    await page.goto(`${app.server.url}/#/cameras/demo`);
    await page.locator('[data-testid="camera-state"][data-state="online"]').waitFor({ timeout: 30_000 });
  });

  after(async () => {
    await h?.close();
  });

  /** Clicks "Watch live" in `mode` and returns the session the page started. */
  async function watch(mode: 'Low latency' | 'HLS'): Promise<Started> {
    await page.getByLabel(mode).check();
    const response = page.waitForResponse(
      (r) => r.url().endsWith('/api/cameras/demo/live') && r.request().method() === 'POST',
    );
    await page.getByTestId('watch-live').click();
    const started = (await (await response).json()) as Started;
    return started;
  }

  test('low latency: "Starting…" until the first frame, then the video plays over the WebSocket', async () => {
    const session = await watch('Low latency');
    await page.getByTestId('live-status').filter({ hasText: 'Starting' }).waitFor({ timeout: 5000 });
    await page.locator('[data-testid="live-player"][data-phase="playing"]').waitFor({ timeout: 45_000 });
    assert.equal(await page.getByTestId('live-video').getAttribute('data-mode'), 'll');
    assert.ok(await waitFor('the video to advance', () => advances(page), 20_000));
    assert.ok(pushPids(session.sessionId).length > 0, "the device's push runs");
    await page.screenshot({ path: join(shots, 'live-view.png'), fullPage: true });
    await page.getByTestId('live-stop').click();
    await waitFor('the push to stop', () => pushPids(session.sessionId).length === 0, 30_000);
  });

  test('HLS: segments ffprobe decodes, video plays in Chromium; leaving stops the push and the playlist', async () => {
    const session = await watch('HLS');
    await page.locator('[data-testid="live-player"][data-phase="playing"]').waitFor({ timeout: 45_000 });
    assert.equal(await page.getByTestId('live-video').getAttribute('data-mode'), 'hls');
    assert.ok(await waitFor('the video to advance', () => advances(page), 20_000));
    const playlist = app.server.url + session.playback.hls;
    const { stdout } = await run(
      'ffprobe',
      [
        '-read_intervals',
        '%+2',
        '-v',
        'error',
        '-count_frames',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=codec_name,nb_read_frames',
        '-of',
        'json',
        playlist,
      ],
      { timeout: 30_000 },
    );
    const stream = (JSON.parse(stdout) as { streams: { codec_name: string; nb_read_frames: string }[] })
      .streams[0]!;
    assert.equal(stream.codec_name, 'h264');
    assert.ok(Number(stream.nb_read_frames) > 0);
    // The playlist is live: its media sequence moves on.
    const first = await mediaSequence(playlist);
    assert.ok(first !== null);
    await waitFor(
      'the playlist to move on',
      async () => ((await mediaSequence(playlist)) ?? -1) > first,
      20_000,
    );
    assert.ok(pushPids(session.sessionId).length > 0);
    // Leave the page: the player leaves the session, the server stops the stream.
    await page.goto(`${app.server.url}/#/cameras`);
    await waitFor('the push to stop', () => pushPids(session.sessionId).length === 0, 30_000);
    await waitFor('the playlist to go', async () => (await fetch(playlist)).status === 404, 15_000);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await fetch(playlist)).status, 404, 'the playlist stays gone');
  });
});
