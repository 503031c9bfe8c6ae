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
const email = 'owner@web.test';
const password = 'a-long-web-password';

describe('web app in Chromium against the real all-in-one server', { timeout: 120_000 }, () => {
  let app: AllInOne;
  let browser: Browser;
  let page: Page;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    const config = loadConfig({
      baseDir: root,
      overrides: {
        dataDir: mkdtempSync(join(tmpdir(), 'iceberg-web-')),
        log: { level: 'silent' },
        server: { port: 0, admin: { email, password, org: 'Web Test' } },
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
