import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AllInOne } from '@iceberg/cli/all-in-one';
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
});
