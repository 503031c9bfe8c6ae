import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AllInOne } from '@iceberg/cli/all-in-one';
import { hashPassword } from '@iceberg/server';
import type { Page } from 'playwright-core';
import { type BrowserHarness, shots, startBrowserHarness } from './browser-harness.ts';

const email = 'owner@rules.test';
const password = 'a-long-rules-password';
const viewerEmail = 'viewer@rules.test';
const viewerPassword = 'a-long-viewer-password';

interface RuleItem {
  id: string;
  name: string;
  spec: { trigger: { type: string; polygon?: [number, number][] } };
}

describe('rule editor in Chromium against the real all-in-one server', { timeout: 120_000 }, () => {
  let app: AllInOne;
  let h: BrowserHarness;
  let page: Page;

  async function logIn(p: Page, who: string, pw: string) {
    await p.goto(`${app.server.url}/#/login`);
    await p.getByLabel('E-mail').fill(who);
    await p.getByLabel('Password').fill(pw);
    await p.getByRole('button', { name: 'Log in' }).click();
    await p.getByTestId('user-role').waitFor();
  }

  before(async () => {
    h = await startBrowserHarness({
      name: 'rules-web',
      email,
      password,
      viewport: { width: 1280, height: 900 },
    });
    ({ app, page } = h);
    const owner = await app.server.store.users.findByEmail(email);
    assert.ok(owner);
    await app.server.store.users.create({
      orgId: owner.orgId,
      email: viewerEmail,
      name: 'Viewer',
      role: 'viewer',
      passwordHash: await hashPassword(viewerPassword),
    });
  });

  after(async () => {
    await h?.close();
  });

  test('an owner draws a zone and saves a rule', async () => {
    await logIn(page, email, password);
    await page.goto(`${app.server.url}/#/rules`);
    await page.getByRole('button', { name: 'New rule' }).click();
    await page.waitForURL(/#\/rules\/new$/);
    await page.getByTestId('rule-camera').selectOption('demo');
    await page.getByLabel('Name').fill('Front zone');
    const canvas = page.getByTestId('rule-canvas');
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    assert.ok(box && box.width > 0 && box.height > 0);
    for (const [x, y] of [
      [0.2, 0.2],
      [0.8, 0.2],
      [0.8, 0.8],
      [0.2, 0.8],
    ] as const)
      await canvas.click({ position: { x: box.width * x, y: box.height * y } });
    assert.equal(await canvas.locator('circle').count(), 4);
    await page.screenshot({ path: join(shots, 'rule-editor.png'), fullPage: true });
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.waitForURL(/#\/rules$/);
    const item = page.getByTestId('rule-item').filter({ hasText: 'Front zone' });
    await item.waitFor();
    assert.match((await item.textContent()) ?? '', /demo/);
    assert.match((await item.textContent()) ?? '', /zone/);

    // Runs in the page: the browser's localStorage (the test itself is type-checked without the DOM lib).
    const token = await page.evaluate(() =>
      (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem(
        'iceberg.token',
      ),
    );
    const res = await page.request.get(`${app.server.url}/api/rules`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(res.status(), 200);
    const body = (await res.json()) as { items: RuleItem[] };
    const rule = body.items.find((r) => r.name === 'Front zone');
    assert.ok(rule);
    assert.equal(rule.spec.trigger.type, 'zone');
    const polygon = rule.spec.trigger.polygon ?? [];
    assert.equal(polygon.length, 4);
    for (const [x, y] of polygon) {
      assert.ok(x >= 0 && x <= 1 && y >= 0 && y <= 1, `point ${x},${y} is inside 0..1`);
    }
    assert.ok(Math.abs((polygon[0]?.[0] ?? 0) - 0.2) < 0.02);
    assert.ok(Math.abs((polygon[2]?.[1] ?? 0) - 0.8) < 0.02);
  });

  test('saving with an empty name shows the error next to the name field', async () => {
    await page.goto(`${app.server.url}/#/rules/new`);
    const canvas = page.getByTestId('rule-canvas');
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    assert.ok(box);
    for (const [x, y] of [
      [0.1, 0.1],
      [0.5, 0.1],
      [0.3, 0.6],
    ] as const)
      await canvas.click({ position: { x: box.width * x, y: box.height * y } });
    await page.getByRole('button', { name: 'Save rule' }).click();
    const error = page.getByTestId('field-error-name');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /empty/i);
    assert.match(page.url(), /#\/rules\/new$/);
  });

  test('a viewer sees the rules but cannot create or edit them', async () => {
    const context = await h.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const viewer = await context.newPage();
    try {
      await logIn(viewer, viewerEmail, viewerPassword);
      assert.equal(await viewer.getByTestId('user-role').textContent(), 'viewer');
      await viewer.goto(`${app.server.url}/#/rules`);
      await viewer.getByTestId('rule-item').filter({ hasText: 'Front zone' }).waitFor();
      assert.equal(await viewer.getByRole('button', { name: 'New rule' }).count(), 0);
      assert.equal(await viewer.getByRole('button', { name: 'Delete' }).count(), 0);
      assert.equal(await viewer.getByRole('link', { name: 'Edit' }).count(), 0);
      await viewer.goto(`${app.server.url}/#/rules/new`);
      await viewer.getByText('Only owners and admins can edit rules').waitFor();
      assert.equal(await viewer.getByTestId('rule-canvas').count(), 0);
    } finally {
      await context.close();
    }
  });
});
