/**
 * Alerts protect footage, all-in-one style (one in-process bus): the server raises an alert, the
 * alert service sends ProtectRecording on the `commands` topic, the device's StreamingAgent
 * routes it to the RecordingManager, whose index marks the segments around the alert protected
 * (and acknowledges it); days later, retention by age removes the older unprotected segments and
 * keeps the protected one. Real segment files (ffmpeg), real index, real retention, a ManualClock.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Bus, MemoryBus } from '@iceberg/bus';
import { ManualClock, silentLogger } from '@iceberg/common';
import { IcebergConfig } from '@iceberg/config';
import type { CommandAckV1, CommandV1 } from '@iceberg/contracts';
import { protectRecordingHandler, RecordingManager, StreamingAgent, segmentRef } from '@iceberg/edge';
import { parseRule, type Rule } from '@iceberg/rules';
import type { AlertService } from '../src/alerts/alert-service.ts';
import { FootageProtector } from '../src/recordings/footage-protector.ts';
import { createHarness, type Harness, harnessAlertService } from './api-harness.ts';

const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
const sample = join(root, 'assets/samples/vtest.mp4');
const DEVICE = 'edge-1';
const CAMERA = 'gate';
const DAY = 86_400_000;

/** ~10 s fMP4 segments of the sample, filed where the recorder files them; their refs, oldest first. */
function fileSegments(dataDir: string, org: string, startedAt: number, seconds: number): string[] {
  const work = mkdtempSync(join(tmpdir(), 'iceberg-protect-cut-'));
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-t', String(seconds), '-i', sample],
    ...['-map', '0:v', '-c', 'copy', '-f', 'segment', '-segment_time', '10', '-segment_format', 'mp4'],
    ...['-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof'],
    ...['-segment_list', join(work, 'list.csv'), '-segment_list_type', 'csv', join(work, 'seg%03d.mp4')],
  ]);
  const refs: string[] = [];
  let at = startedAt;
  for (const line of readFileSync(join(work, 'list.csv'), 'utf8').trim().split('\n')) {
    const [name, start, end] = line.split(',') as [string, string, string];
    const ref = segmentRef(org, CAMERA, at);
    mkdirSync(dirname(join(dataDir, ref)), { recursive: true });
    renameSync(join(work, name), join(dataDir, ref));
    refs.push(ref);
    at += Math.round((Number(end) - Number(start)) * 1000);
  }
  rmSync(work, { recursive: true, force: true });
  return refs;
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('an alert protects the footage around it on the device', { timeout: 60_000 }, () => {
  let h: Harness;
  let bus: Bus;
  let dir: string;
  let manager: RecordingManager;
  let agent: StreamingAgent;
  let alerts: AlertService;
  let refs: string[];
  const commands: CommandV1[] = [];
  const acks: CommandAckV1[] = [];
  const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const clock = new ManualClock(T0 + 120_000);

  before(async () => {
    h = await createHarness();
    bus = new Bus(new MemoryBus(), { logger: silentLogger() });
    await bus.subscribe('commands', { group: 'test-commands' }, async (c) => void commands.push(c));
    await bus.subscribe('commandAcks', { group: 'test-acks' }, async (a) => void acks.push(a));
    dir = mkdtempSync(join(tmpdir(), 'iceberg-protect-'));
    refs = fileSegments(dir, h.orgs.a, T0, 35);
    const config = IcebergConfig.parse({
      org: h.orgs.a,
      device: { id: DEVICE },
      dataDir: dir,
      cameras: [{ id: CAMERA, input: sample }],
      recording: {
        retention: { maxAgeDays: 1 },
        protectedDays: 90,
        freeSpaceFloor: { bytes: 0, percent: 0 },
        checkSeconds: 60,
      },
    });
    manager = new RecordingManager(config, { publish: async () => undefined, clock, logger: silentLogger() });
    await manager.start();
    agent = new StreamingAgent({
      config,
      bus,
      clock,
      logger: silentLogger(),
      handlers: { ProtectRecording: protectRecordingHandler(manager) },
    });
    await agent.start();
    alerts = harnessAlertService(h, clock, {
      // a narrow window, so that one segment of the four is the alert's
      footage: new FootageProtector({ bus, clock, preRollSeconds: 2, postRollSeconds: 2 }),
    });
  });

  after(async () => {
    await agent?.stop();
    await manager?.stop();
    await bus?.close();
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('ProtectRecording reaches the device, which marks the overlapping segments and acknowledges', async () => {
    const protectedNow = () =>
      manager
        .recorder(CAMERA)
        ?.index.list()
        .filter((s) => s.protected) ?? [];
    assert.equal(protectedNow().length, 0, 'nothing is protected before the alert');
    const parsed = parseRule({
      name: 'Gate',
      cameras: [CAMERA],
      classes: ['person'],
      trigger: { type: 'anywhere' },
    });
    assert.ok(parsed.ok);
    const rule: Rule = { ...parsed.rule, id: 'rule-gate', orgId: h.orgs.a };
    const at = T0 + 15_000; // inside the second segment (10 s – 20 s)
    const { created, alert } = await alerts.raise(
      {
        ruleId: rule.id,
        orgId: h.orgs.a,
        deviceId: DEVICE,
        cameraId: CAMERA,
        reason: 'inside',
        class: 'person',
        trackIds: ['t1'],
        score: 0.9,
        box: [0.1, 0.1, 0.2, 0.4],
        at,
        dedupeKey: `rule-gate:${CAMERA}:inside:t1:${at}`,
      },
      rule,
      'snapshots/gate/x.jpg',
    );
    assert.ok(created);
    await until('the device to acknowledge', () => acks.some((a) => a.commandId === `protect-${alert.id}`));
    const command = commands.find((c) => c.type === 'ProtectRecording');
    assert.ok(command?.type === 'ProtectRecording');
    assert.deepEqual(
      {
        from: command.from,
        to: command.to,
        camera: command.cameraId,
        device: command.deviceId,
        alert: command.alertId,
      },
      { from: at - 2_000, to: at + 2_000, camera: CAMERA, device: DEVICE, alert: alert.id },
    );
    const ack = acks.find((a) => a.commandId === command.commandId);
    assert.equal(ack?.status, 'accepted', ack?.message);
    const kept = protectedNow();
    assert.deepEqual(
      kept.map((s) => s.segment.path),
      [refs[1]],
      'exactly the segment around the alert is protected',
    );
    // the mark is durable: it is in the index log on disk
    const log = readFileSync(join(dir, `recordings/${h.orgs.a}/${CAMERA}/index.jsonl`), 'utf8');
    assert.match(
      log,
      new RegExp(`"op":"set","id":"${CAMERA}:${kept[0]?.segment.startedAt}","protected":true`),
    );
  });

  test('a camera the device does not record: the command is acknowledged as failed', async () => {
    await bus.publish('commands', {
      ...new FootageProtector({ bus, clock }).command({
        id: 'alert-x',
        orgId: h.orgs.a,
        deviceId: DEVICE,
        cameraId: 'no-such-camera',
        at: T0,
      }),
    });
    await until('the failure ack', () => acks.some((a) => a.commandId === 'protect-alert-x'));
    const ack = acks.find((a) => a.commandId === 'protect-alert-x');
    assert.equal(ack?.status, 'failed');
    assert.equal(ack?.reason, 'unknown_camera');
  });

  test('two days later retention by age removes the unprotected segments and keeps the protected one', async () => {
    assert.ok(refs.every((r) => existsSync(join(dir, r))));
    clock.advance(2 * DAY);
    await manager.tick();
    const left = refs.filter((r) => existsSync(join(dir, r)));
    assert.deepEqual(left, [refs[1]]);
    assert.deepEqual(
      manager
        .recorder(CAMERA)
        ?.index.list()
        .map((s) => s.segment.path),
      [refs[1]],
    );
  });
});
