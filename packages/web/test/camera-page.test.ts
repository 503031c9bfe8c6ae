import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AllInOne } from '@iceberg/cli/all-in-one';
import type { Page } from 'playwright-core';
import { type BrowserHarness, shots, startBrowserHarness } from './browser-harness.ts';

const email = 'owner@camera-page.test';
const password = 'a-long-web-password';

describe('camera page and grid live boxes in Chromium', { timeout: 180_000 }, () => {
  let app: AllInOne;
  let h: BrowserHarness;
  let page: Page;

  before(async () => {
    h = await startBrowserHarness({ name: 'camera-page', email, password, withDemoRule: true });
    ({ app, page } = h);
  });

  after(async () => {
    await h?.close();
  });

  test('the tile of camera demo shows live boxes after logging in', async () => {
    await page.goto(app.server.url);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const tile = page.locator('[data-testid="camera-tile"][data-camera-id="demo"]');
    await tile.waitFor();
    await tile.locator('[data-testid="live-box"]').first().waitFor({ timeout: 20_000 });
    const cls = await tile.locator('[data-testid="live-box"]').first().getAttribute('data-class');
    assert.ok(cls, 'a live box carries its class');
  });

  test('the camera page lists person events and draws live boxes', async () => {
    await page.locator('[data-testid="camera-tile"][data-camera-id="demo"]').click();
    await page.waitForURL(/#\/cameras\/demo$/);
    await page
      .locator('[data-testid="event-item"][data-class="person"]')
      .first()
      .waitFor({ timeout: 60_000 });
    const boxes = page.locator('section.camera-latest [data-testid="live-box"]');
    await boxes.first().waitFor({ timeout: 20_000 });
    assert.match((await boxes.first().textContent()) ?? '', /\d+%/);
    await page.screenshot({ path: join(shots, 'camera.png'), fullPage: true });
  });

  test('on a phone the camera tile fits the viewport', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${app.server.url}/#/cameras`);
    await page.reload();
    const tile = page.locator('[data-testid="camera-tile"][data-camera-id="demo"]');
    await tile.waitFor();
    const box = await tile.boundingBox();
    assert.ok(box, 'tile is visible');
    assert.ok(box.width <= 390, `tile width ${box.width} fits 390 px`);
    await page.screenshot({ path: join(shots, 'cameras-phone.png'), fullPage: true });
  });
});
