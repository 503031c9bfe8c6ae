import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AllInOne, startAllInOne } from '@iceberg/cli/all-in-one';
import { loadConfig } from '@iceberg/config';
import { type Browser, chromium, type Page } from 'playwright-core';

const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
/** Screenshots of the main pages, kept as artefacts of the test run (documented in the README). */
const shots = join(root, 'artifacts/screenshots');
const email = 'owner@camera-page.test';
const password = 'a-long-web-password';

describe('camera page and grid live boxes in Chromium', { timeout: 180_000 }, () => {
  let app: AllInOne;
  let browser: Browser;
  let page: Page;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    const config = loadConfig({
      baseDir: root,
      overrides: {
        dataDir: mkdtempSync(join(tmpdir(), 'iceberg-camera-page-')),
        log: { level: 'silent' },
        server: { port: 0, admin: { email, password, org: 'Camera Page Test' } },
        cameras: [
          {
            id: 'demo',
            name: 'Sample',
            input: join(root, 'assets/samples/vtest.mp4'),
            loop: true,
            realtime: true,
          },
        ],
      },
    });
    app = await startAllInOne(config, { withDemoRule: true });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
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
