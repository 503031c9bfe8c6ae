import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AllInOne } from '@iceberg/cli/all-in-one';
import { examples } from '@iceberg/contracts';
import type { Page } from 'playwright-core';
import { type BrowserHarness, shots, startBrowserHarness } from './browser-harness.ts';

const email = 'owner@web.test';
const password = 'a-long-web-password';

describe('web app in Chromium against the real all-in-one server', { timeout: 120_000 }, () => {
  let app: AllInOne;
  let h: BrowserHarness;
  let page: Page;

  before(async () => {
    h = await startBrowserHarness({ name: 'web', email, password, withDemoRule: true });
    ({ app, page } = h);
  });

  after(async () => {
    await h?.close();
  });

  test('a wrong password shows a clear message', async () => {
    await page.goto(app.server.url);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /wrong e-mail or password/i })
      .waitFor();
  });

  test('after logging in, the camera tile shows its state and a snapshot', async () => {
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const tile = page.locator('[data-testid="camera-tile"][data-camera-id="demo"]');
    await tile.waitFor();
    await tile.getByText(/online/i).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'cameras.png'), fullPage: true });
    assert.match((await tile.textContent()) ?? '', /Sample|demo/);
  });

  test('a new alert appears live in the inbox and can be acknowledged', async () => {
    await page.goto(`${app.server.url}/#/alerts`);
    const item = page.locator('[data-testid="alert-item"]').first();
    await item.waitFor({ timeout: 60_000 });
    assert.match((await item.textContent()) ?? '', /person/i);
    await page.screenshot({ path: join(shots, 'alerts.png'), fullPage: true });
    await item.getByRole('button', { name: 'Acknowledge' }).click();
    await page.locator('[data-testid="alert-item"][data-status="acknowledged"]').first().waitFor();
  });
  test("the devices page shows each device's health and cameras, and a Kafka device's backlog, updated live", async () => {
    const orgId = app.server.admin.orgId;
    const heartbeat = (pendingMessages: number, shed: number) => {
      const at = Date.now();
      return app.bus.publish('deviceStatus', {
        ...examples.deviceStatus,
        orgId,
        deviceId: 'shop-edge',
        at,
        hostname: 'shop-edge.local',
        cameras: [
          { cameraId: 'till', state: 'online' },
          { cameraId: 'yard', state: 'offline' },
        ],
        outbox: {
          pendingMessages,
          pendingBytes: pendingMessages * 490,
          oldestPendingAt: pendingMessages > 0 ? at - 95_000 : null,
          shed,
        },
      });
    };
    await heartbeat(12_345, 0);
    // A device last heard from five minutes ago.
    await app.bus.publish('deviceStatus', {
      ...examples.deviceStatus,
      orgId,
      deviceId: 'closed-shop',
      at: Date.now() - 5 * 60_000,
    });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${app.server.url}/#/devices`);
    await page.getByRole('link', { name: 'Devices' }).waitFor();
    const remote = page.locator('[data-testid="device-card"][data-device-id="shop-edge"]');
    await remote.waitFor();
    assert.equal(await remote.getAttribute('data-health'), 'online');
    assert.equal(await remote.getByTestId('device-cameras').textContent(), '1 of 2 online');
    assert.match(
      (await remote.getByTestId('device-outbox').textContent()) ?? '',
      /12,345 messages waiting \(5\.8 MB\), the oldest from 1 min 35 s before this report/,
    );
    // The all-in-one box's own device (no Kafka, so no outbox): its camera is online.
    const local = page.locator(
      '[data-testid="device-card"]:not([data-device-id="shop-edge"]):not([data-device-id="closed-shop"])',
    );
    await local.first().waitFor();
    await local
      .first()
      .getByTestId('device-cameras')
      .filter({ hasText: '1 of 1 online' })
      .waitFor({ timeout: 30_000 });
    assert.equal(await local.first().getByTestId('device-outbox').count(), 0);
    const closed = page.locator('[data-testid="device-card"][data-device-id="closed-shop"]');
    assert.equal(await closed.getAttribute('data-health'), 'offline');
    assert.match((await closed.textContent()) ?? '', /\(5 min \d+ s ago\)/);
    await page.screenshot({ path: join(shots, 'devices.png'), fullPage: true });

    // The link comes back and the backlog drains: the card follows without a reload.
    await heartbeat(0, 3);
    await remote.getByTestId('device-outbox').filter({ hasText: 'Nothing waiting' }).waitFor();
    assert.match((await remote.getByTestId('device-shed').textContent()) ?? '', /3 messages dropped/);

    // On a phone the header and the cards fit the width.
    await page.setViewportSize({ width: 390, height: 844 });
    // Runs in the page (the test is type-checked without the DOM lib).
    const width = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
          .documentElement.scrollWidth,
    );
    assert.ok(width <= 390, `page width ${width} fits 390 px`);
  });
});
