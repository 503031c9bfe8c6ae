/**
 * Playback in Chromium: the all-in-one server holds 30 s of recording of camera `archive` (real
 * fMP4 segments cut by ffmpeg from the sample footage, reported on the bus as a recorder does),
 * the camera page's timeline shows them, and clicking the timeline, or "Play the clip" on an
 * alert, plays the recording from that moment (hls.js; the video's time advances).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AllInOne } from '@iceberg/cli/all-in-one';
import type { RecordingSegmentV1 } from '@iceberg/contracts';
import type { Page } from 'playwright-core';
import { type BrowserHarness, root, shots, startBrowserHarness } from './browser-harness.ts';

const email = 'owner@recordings.test';
const password = 'a-long-web-password';
const CAMERA = 'archive';

/** `seconds` of the sample cut into 10 s fragmented-MP4 segments under the data directory, as a recorder writes them. */
function record(dataDir: string, org: string, startedAt: number, seconds: number): RecordingSegmentV1[] {
  const work = mkdtempSync(join(tmpdir(), 'iceberg-rec-web-'));
  execFileSync('ffmpeg', [
    ...[
      '-hide_banner',
      '-loglevel',
      'error',
      '-t',
      String(seconds),
      '-i',
      join(root, 'assets/samples/vtest.mp4'),
    ],
    ...['-map', '0:v', '-c', 'copy', '-f', 'segment', '-segment_time', '10', '-segment_format', 'mp4'],
    ...['-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof'],
    ...['-segment_list', join(work, 'list.csv'), '-segment_list_type', 'csv', join(work, 'seg%03d.mp4')],
  ]);
  const out: RecordingSegmentV1[] = [];
  let at = startedAt;
  for (const line of readFileSync(join(work, 'list.csv'), 'utf8').trim().split('\n')) {
    const [name, s, e] = line.split(',') as [string, string, string];
    const durationMs = Math.round((Number(e) - Number(s)) * 1000);
    const path = `recordings/${org}/${CAMERA}/day/hour/${at}.mp4`;
    mkdirSync(join(dataDir, path, '..'), { recursive: true });
    renameSync(join(work, name), join(dataDir, path));
    const bytes = statSync(join(dataDir, path)).size;
    out.push({
      segmentId: `${CAMERA}:${at}`,
      startedAt: at,
      endedAt: at + durationMs,
      durationMs,
      bytes,
      path,
      reason: 'continuous',
    });
    at += durationMs;
  }
  rmSync(work, { recursive: true, force: true });
  return out;
}

/** The video's position, and the wall-clock time the timeline says is playing. */
async function playback(page: Page) {
  // runs in the page: `el` is the <video>; typed structurally (this file is compiled without the DOM lib)
  const video = await page.getByTestId('recording-video').evaluate((el) => ({
    time: (el as unknown as { currentTime: number }).currentTime,
    paused: (el as unknown as { paused: boolean }).paused,
  }));
  const wall = Number(await page.getByTestId('timeline-bar').getAttribute('aria-valuenow'));
  return { ...video, wall };
}

/** Waits until the video plays on its own for a second and more near `near` (wall clock). */
async function waitPlayingNear(page: Page, near: number) {
  const deadline = Date.now() + 40_000;
  let last = await playback(page);
  for (;;) {
    await page.waitForTimeout(500);
    const now = await playback(page);
    if (now.time > last.time + 0.3 && !now.paused && Math.abs(now.wall - near) < 8_000) return now;
    if (Date.now() > deadline)
      throw new Error(
        `the recording did not play near ${new Date(near).toISOString()}: ${JSON.stringify(now)}`,
      );
    last = now;
  }
}

describe('recordings: timeline and playback in Chromium', { timeout: 180_000 }, () => {
  let app: AllInOne;
  let h: BrowserHarness;
  let page: Page;
  let segments: RecordingSegmentV1[];
  let alertAt: number;

  before(async () => {
    h = await startBrowserHarness({ name: 'recordings', email, password });
    ({ app, page } = h);
    const orgId = app.server.admin.orgId;
    await app.server.store.cameras.create({
      orgId,
      id: CAMERA,
      deviceId: 'edge-1',
      name: 'Archive',
      input: '',
    });
    const T0 = Math.floor((Date.now() - 20 * 60_000) / 1000) * 1000;
    segments = record(app.server.dataDir, orgId, T0, 30);
    for (const segment of segments)
      await app.bus.publish('recordings', {
        schema: 'recording.v1',
        type: 'SegmentRecorded',
        orgId,
        deviceId: 'edge-1',
        cameraId: CAMERA,
        eventId: `${segment.segmentId}:recorded`,
        at: segment.endedAt,
        segment,
      });
    const deadline = Date.now() + 20_000;
    while (
      (await app.server.store.recordings.listRange(orgId, CAMERA, { from: T0, to: T0 + 60_000 })).length <
      segments.length
    ) {
      if (Date.now() > deadline) throw new Error('segments not indexed');
      await new Promise((r) => setTimeout(r, 100));
    }
    alertAt = T0 + 22_000;
    await app.server.store.alerts.insertIfNew({
      id: 'alert-archive-1',
      orgId,
      ruleId: 'rule-1',
      ruleName: 'Door',
      deviceId: 'edge-1',
      cameraId: CAMERA,
      reason: 'enter',
      class: 'person',
      trackIds: ['t-1'],
      score: 0.9,
      box: null,
      at: alertAt,
      createdAt: alertAt,
      status: 'new',
      snapshot: null,
      message: 'person entered Door on archive',
      dedupeKey: 'archive-1',
    });
  });

  after(async () => {
    await h?.close();
  });

  test('the camera page shows the recorded segments and plays from a click on the timeline', async () => {
    await page.goto(app.server.url);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('[data-testid="camera-tile"]').first().waitFor();
    await page.goto(`${app.server.url}/#/cameras/${CAMERA}`);
    const bars = page.locator('[data-testid="recording-segment"]');
    await bars.nth(segments.length - 1).waitFor({ timeout: 20_000 });
    assert.equal(await bars.count(), segments.length);
    assert.match(
      (await page.getByTestId('recording-summary').textContent()) ?? '',
      /1 min recorded|0 min recorded/,
    );

    // click 12 s into the recording
    const target = segments[0]!.startedAt + 12_000;
    const bar = page.getByTestId('timeline-bar');
    await bar.scrollIntoViewIfNeeded();
    const box = await bar.boundingBox();
    assert.ok(box);
    const from = Number(await bar.getAttribute('data-from'));
    const to = Number(await bar.getAttribute('data-to'));
    await page.mouse.click(box.x + ((target - from) / (to - from)) * box.width, box.y + box.height - 5);
    const state = await waitPlayingNear(page, target);
    assert.ok(state.time > 0, 'the video advances');
    await page.screenshot({ path: join(shots, 'recordings.png'), fullPage: true });
  });

  test('"Play the clip" on an alert opens the camera at the alert and plays it', async () => {
    await page.goto(`${app.server.url}/#/alerts`);
    const item = page.locator('[data-testid="alert-item"][data-alert-id="alert-archive-1"]');
    await item.waitFor();
    await item.getByTestId('play-clip').click();
    await page.waitForURL(new RegExp(`#/cameras/${CAMERA}\\?t=${alertAt - 5_000}$`));
    await page.locator('[data-testid="timeline-alert"]').first().waitFor();
    await waitPlayingNear(page, alertAt - 5_000);
  });
});
