import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AllInOne, startAllInOne } from '@iceberg/cli/all-in-one';
import { loadConfig } from '@iceberg/config';
import { type Browser, chromium, type Page } from 'playwright-core';

export const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
/** Screenshots of the main pages, kept as artefacts of the test run (documented in the README). */
export const shots = join(root, 'artifacts/screenshots');

export interface BrowserHarness {
  app: AllInOne;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/**
 * The real all-in-one server on the sample footage (camera `demo`, its own data directory and
 * first owner), and Debian's Chromium driven by playwright-core with one page open.
 */
export async function startBrowserHarness(o: {
  name: string;
  email: string;
  password: string;
  withDemoRule?: boolean;
  viewport?: { width: number; height: number };
}): Promise<BrowserHarness> {
  mkdirSync(shots, { recursive: true });
  const config = loadConfig({
    baseDir: root,
    overrides: {
      dataDir: mkdtempSync(join(tmpdir(), `iceberg-${o.name}-`)),
      log: { level: 'silent' },
      server: {
        port: 0,
        admin: { email: o.email, password: o.password, org: `${o.name} test` },
        // Each harness its own RTMP port: test files run in parallel.
        restream: { rtmpPort: 0 },
      },
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
  const app = await startAllInOne(config, { withDemoRule: o.withDemoRule ?? false });
  const browser = await chromium.launch({
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
  const page = await browser.newPage({ viewport: o.viewport ?? { width: 1280, height: 800 } });
  return {
    app,
    browser,
    page,
    close: async () => {
      await browser.close();
      await app.stop();
    },
  };
}
