import { mkdir, readdir } from 'node:fs/promises';
import {
  type Clock,
  errorMessage,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
} from '@iceberg/common';
import type { IcebergConfig } from '@iceberg/config';
import type { RecordingEventV1, TrackEventV1 } from '@iceberg/contracts';
import { DiskGuard, type DiskVerdict, type StatDisk, statfsDisk } from './disk-guard.ts';
import { CameraRecorder } from './recorder.ts';
import { planRetention, type RetentionPolicy, type RetentionReason } from './retention.ts';
import { resolveRef, SegmentIndex, type StoredSegment, segmentIdOf } from './segment-index.ts';

const DAY_MS = 86_400_000;
const GB = 1024 ** 3;
/** Unpublished events kept for a retry when the bus is down. */
const OUTBOX_MAX = 10_000;

export interface RecordingManagerDeps {
  /** Publishes one `recording.v1` event (the bus); a failure is retried on the next check. */
  publish: (event: RecordingEventV1) => Promise<void>;
  statDisk?: StatDisk;
  clock?: Clock;
  logger?: Logger;
  /** Segment list poll interval of the recorders (tests shorten it). */
  pollMs?: number;
}

/**
 * The device's DVR: a CameraRecorder per camera, and every `recording.checkSeconds` one pass
 * that decides events-mode segments, applies retention (per camera and overall, oldest first,
 * protected segments kept longer) and guards the free-space floor (the oldest unprotected
 * segments go first; if that is not enough, every recorder pauses until the disk is above the
 * floor plus its hysteresis, which the server sees as RecordingStateChanged paused/disk_full).
 */
export class RecordingManager {
  private readonly recorders = new Map<string, CameraRecorder>();
  private readonly indexes = new Map<string, SegmentIndex>();
  private readonly guard: DiskGuard;
  private readonly statDisk: StatDisk;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly outbox: RecordingEventV1[] = [];
  private timer: TimerHandle | null = null;
  private ticking: Promise<void> | null = null;
  private started = false;
  private lastVerdict: DiskVerdict | null = null;

  constructor(
    private readonly config: IcebergConfig,
    private readonly deps: RecordingManagerDeps,
  ) {
    this.guard = new DiskGuard(config.recording.freeSpaceFloor);
    this.statDisk = deps.statDisk ?? statfsDisk;
    this.clock = deps.clock ?? systemClock;
    this.logger = (deps.logger ?? silentLogger()).child({ component: 'recordings' });
  }

  /** `<dataDir>/recordings` */
  get root(): string {
    return resolveRef(this.config.dataDir, 'recordings');
  }

  get paused(): boolean {
    return this.guard.paused;
  }

  get disk(): DiskVerdict | null {
    return this.lastVerdict;
  }

  /** The recorder of an enabled camera (after `start`). */
  recorder(cameraId: string): CameraRecorder | undefined {
    return this.recorders.get(cameraId);
  }

  /**
   * Opens every camera's index (those configured and those with recordings left on the disk, so
   * retention still covers a camera removed from the config), recovers what a crash left, runs a
   * first check (a full disk pauses recording before it starts), then checks periodically.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const org = this.config.org;
    await mkdir(resolveRef(this.config.dataDir, `recordings/${org}`), { recursive: true });
    const ids = new Set(this.config.cameras.filter((c) => c.enabled).map((c) => c.id));
    for (const e of await readdir(resolveRef(this.config.dataDir, `recordings/${org}`), {
      withFileTypes: true,
    }))
      if (e.isDirectory() && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(e.name)) ids.add(e.name);
    for (const cameraId of ids) {
      const opened = await SegmentIndex.open({
        dataDir: this.config.dataDir,
        orgId: org,
        cameraId,
        logger: this.logger,
      });
      this.indexes.set(cameraId, opened.index);
      const camera = this.config.cameras.find((c) => c.id === cameraId && c.enabled);
      if (!camera) continue;
      const recorder = new CameraRecorder({
        dataDir: this.config.dataDir,
        orgId: org,
        deviceId: this.config.device.id,
        cameraId,
        record: camera.record,
        index: opened.index,
        publish: (event) => void this.publish(event),
        clock: this.clock,
        logger: this.logger,
        ...(this.deps.pollMs ? { pollMs: this.deps.pollMs } : {}),
      });
      this.recorders.set(cameraId, recorder);
      if (opened.vanished.length > 0) recorder.reportDeleted(opened.vanished, 'user');
      for (const s of opened.recovered)
        void this.publish({
          schema: 'recording.v1',
          type: 'SegmentRecorded',
          orgId: org,
          deviceId: this.config.device.id,
          cameraId,
          eventId: `${s.segment.segmentId}:recorded`,
          at: this.clock.now(),
          segment: s.segment,
        });
      await recorder.open();
    }
    await this.tick();
    this.schedule();
  }

  /** The index entry of a segment path (`recordings/<org>/<camera>/…/<startedAt>.mp4`), for the media endpoint. */
  segmentByPath(path: string): StoredSegment | undefined {
    const parts = path.split('/');
    const cameraId = parts[2];
    const startedAt = Number(/^(\d+)\.mp4$/.exec(parts.at(-1) ?? '')?.[1]);
    if (parts[0] !== 'recordings' || parts[1] !== this.config.org || !cameraId) return undefined;
    const s = this.indexes.get(cameraId)?.get(segmentIdOf(cameraId, startedAt));
    return s?.segment.path === path ? s : undefined;
  }

  /** Track events (any camera): they decide events-mode segments and protection. */
  onTrackEvents(events: readonly TrackEventV1[]): void {
    for (const e of events) this.recorders.get(e.cameraId)?.onTrackEvent(e);
  }

  /** Keeps what overlaps [from, to] on a camera for `protectedDays` (an alert's footage). */
  async protect(cameraId: string, from: number, to: number): Promise<void> {
    await this.recorders.get(cameraId)?.protect(from, to);
  }

  /** One pass: publish retries, events-mode decisions, retention, the disk floor. */
  tick(): Promise<void> {
    if (!this.ticking)
      this.ticking = this.runTick()
        .catch((err) => this.logger.error({ err: errorMessage(err) }, 'recording check failed'))
        .finally(() => {
          this.ticking = null;
        });
    return this.ticking;
  }

  /** After the camera sources have stopped: takes their last segments and stops checking. */
  async stop(): Promise<void> {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.started = false;
    await Promise.all([...this.recorders.values()].map((r) => r.close()));
    await this.ticking;
    await this.flushOutbox();
    await Promise.all([...this.indexes.values()].map((i) => i.flush()));
  }

  // --- internals -------------------------------------------------------------------------------

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (!this.started) return;
      void this.tick().then(() => {
        if (this.started) this.schedule();
      });
    }, this.config.recording.checkSeconds * 1000);
  }

  private async runTick(): Promise<void> {
    await this.flushOutbox();
    const now = this.clock.now();
    for (const r of this.recorders.values()) {
      await r.idle();
      await r.decide(now);
    }
    let space = await this.statDisk(this.root);
    const need = this.guard.assess(space).needBytes;
    const plan = planRetention(
      [...this.indexes.entries()].flatMap(([cameraId, index]) =>
        index.list().map((s) => ({
          id: s.segment.segmentId,
          cameraId,
          startedAt: s.segment.startedAt,
          endedAt: s.segment.endedAt,
          bytes: s.segment.bytes,
          protected: s.protected,
          pending: s.pending,
        })),
      ),
      this.policy(),
      now,
      need,
    );
    if (plan.length > 0) {
      const groups = new Map<string, { cameraId: string; reason: RetentionReason; ids: string[] }>();
      for (const d of plan) {
        const key = `${d.cameraId}\0${d.reason}`;
        const g = groups.get(key) ?? { cameraId: d.cameraId, reason: d.reason, ids: [] };
        g.ids.push(d.id);
        groups.set(key, g);
      }
      for (const g of groups.values()) {
        const index = this.indexes.get(g.cameraId);
        if (!index) continue;
        const freed = await index.remove(g.ids);
        this.logger.info(
          { camera: g.cameraId, reason: g.reason, segments: g.ids.length, freedBytes: freed },
          'recordings removed',
        );
        const recorder = this.recorders.get(g.cameraId);
        if (recorder) recorder.reportDeleted(g.ids, g.reason);
        else void this.publishDeleted(g.cameraId, g.ids, g.reason);
      }
      space = await this.statDisk(this.root);
    }
    const { changed, verdict } = this.guard.update(space);
    this.lastVerdict = verdict;
    if (changed) {
      if (verdict.paused)
        this.logger.error(
          { freeBytes: verdict.freeBytes, floorBytes: verdict.floorBytes },
          'free space below the floor: recording paused',
        );
      else
        this.logger.info(
          { freeBytes: verdict.freeBytes },
          'free space back above the floor: recording resumed',
        );
      for (const r of this.recorders.values()) r.setDiskPaused(verdict.paused, verdict.freeBytes);
    }
  }

  private policy(): RetentionPolicy {
    const r = this.config.recording;
    const cameras: Record<string, { maxAgeMs?: number; maxBytes?: number }> = {};
    for (const c of this.config.cameras) {
      const own = c.record.retention;
      cameras[c.id] = {
        ...(own.maxAgeDays !== undefined ? { maxAgeMs: own.maxAgeDays * DAY_MS } : {}),
        ...(own.maxSizeGB !== undefined ? { maxBytes: Math.floor(own.maxSizeGB * GB) } : {}),
      };
    }
    return {
      cameras,
      total: {
        maxAgeMs: r.retention.maxAgeDays * DAY_MS,
        ...(r.retention.maxSizeGB !== undefined ? { maxBytes: Math.floor(r.retention.maxSizeGB * GB) } : {}),
      },
      protectedMs: r.protectedDays * DAY_MS,
    };
  }

  private async publishDeleted(cameraId: string, ids: string[], reason: RetentionReason): Promise<void> {
    const at = this.clock.now();
    await this.publish({
      schema: 'recording.v1',
      type: 'SegmentsDeleted',
      orgId: this.config.org,
      deviceId: this.config.device.id,
      cameraId,
      eventId: `${cameraId}:deleted:${at}:${ids[0]}`,
      at,
      segmentIds: ids.slice(0, 10_000),
      reason,
    });
  }

  private async publish(event: RecordingEventV1): Promise<void> {
    try {
      await this.deps.publish(event);
    } catch (err) {
      if (this.outbox.length >= OUTBOX_MAX) this.outbox.shift();
      this.outbox.push(event);
      this.logger.warn(
        { err: errorMessage(err), type: event.type },
        'recording event not published: will retry',
      );
    }
  }

  private async flushOutbox(): Promise<void> {
    while (this.outbox.length > 0) {
      const event = this.outbox[0] as RecordingEventV1;
      try {
        await this.deps.publish(event);
        this.outbox.shift();
      } catch {
        return;
      }
    }
  }
}
