/**
 * Alert latency of the all-in-one box: `npm run bench:alerts` (about 1 minute).
 * The sample footage loops as a live camera; a rule fires whenever a person enters the scene;
 * a WebSocket client, logged in like the web app, receives the alerts. Latency is from the
 * capture of the frame that fired the rule (the alert's `at`) to the alert arriving on the socket.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from '@iceberg/common';
import { loadConfig } from '@iceberg/config';
import type { AlertV1 } from '@iceberg/contracts';
import WebSocket from 'ws';
import { startAllInOne } from '../packages/cli/src/commands/all-in-one.ts';

const root = join(import.meta.dirname, '..');
const seconds = process.argv.includes('--quick') ? 20 : 60;
const config = loadConfig({
  baseDir: root,
  overrides: {
    dataDir: mkdtempSync(join(tmpdir(), 'iceberg-alert-bench-')),
    log: { level: 'error' },
    server: {
      port: 0,
      admin: { email: 'bench@iceberg.test', password: 'bench-password-1' },
      restream: { rtmpPort: 0 },
    },
    cameras: [{ id: 'demo', input: join(root, 'assets/samples/vtest.mp4'), loop: true, realtime: true }],
  },
});
const app = await startAllInOne(config);
const orgId = app.server.admin.orgId;
await app.server.store.rules.create({
  orgId,
  name: 'Anyone',
  enabled: true,
  cameraIds: ['demo'],
  spec: {
    name: 'Anyone',
    cameras: ['demo'],
    classes: ['person'],
    trigger: { type: 'anywhere' },
    cooldownSeconds: 0,
  },
});
const login = await fetch(`${app.server.url}/api/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: 'bench@iceberg.test', password: 'bench-password-1' }),
});
const { token } = (await login.json()) as { token: string };
const latencies: number[] = [];
const ws = new WebSocket(`${app.server.url.replace(/^http/, 'ws')}/api/ws?token=${token}&topics=alerts`);
ws.on('message', (data) => {
  const message = JSON.parse(String(data)) as { type: string; data: AlertV1 };
  if (message.type === 'alert') latencies.push(Date.now() - message.data.at);
});
await new Promise((resolve) => ws.once('open', resolve));
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
ws.close();
await app.stop();
const r = (v: number) => Math.round(v);
console.log(
  `alert latency over ${seconds} s of live sample footage (frame capture → alert on the WebSocket):`,
);
console.log(
  `  alerts ${latencies.length}, p50 ${r(percentile(latencies, 50))} ms, p95 ${r(percentile(latencies, 95))} ms, max ${r(Math.max(...latencies))} ms`,
);
