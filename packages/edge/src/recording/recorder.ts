import { mkdirSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type Clock,
  errorMessage,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '@iceberg/common';
import type { CameraRecordConfig } from '@iceberg/config';
import type { RecordingEventV1, TrackEventV1 } from '@iceberg/contracts';
import { inspectFmp4, isPlayable } from './fmp4.ts';
import { parseSegmentList, recorderOutputArgs, SEGMENT_FILE, SEGMENT_LIST } from './recorder-output.ts';
import {
  resolveRef,
  type SegmentIndex,
  type StoredSegment,
  segmentIdOf,
  segmentRef,
} from './segment-index.ts';

export type RecorderState = 'recording' | 'waiting' | 'paused' | 'off';
export type RecorderStateReason = 'disk_full' | 'camera_offline' | 'error';

/** What the recorder needs of a camera source: its state changes and the end of each ffmpeg run. */
export interface RecordedSource {
  on(
    event: 'status',
    listener: (status: { state: string; at: number; problem: { message: string } | null }) => void,
  ): unknown;
  on(event: 'exited', listener: () => void): unknown;
}

export interface CameraRecorderOptions {
  dataDir: string;
  orgId: string;
  deviceId: string;
  cameraId: string;
  record: CameraRecordConfig;
  index: SegmentIndex;
  /** Where wire events go (the manager publishes them, retrying what fails). */
  publish: (event: RecordingEventV1) => void;
  /** How often a run's segment list is read. Default 1 s. */
  pollMs?: number;
  /** A track reported after its first sighting by up to this much is still in time for pre-roll. Default 5 s. */
  confirmDelayMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export type CameraRecorderEvents = {
  /** A segment was closed, checked and moved to its place (events mode: still pending). */
  segment: (segment: StoredSegment) => void;
  /** Events mode: a pending segment was kept (it overlaps a track) or dropped. */
  decided: (segment: StoredSegment, kept: boolean) => void;
  state: (state: RecorderState, reason: RecorderStateReason | undefined) => void;
};

/** One ffmpeg run of the camera: a staging directory ffmpeg writes segments and their list into. */
interface Run {
  dir: string;
  /** Wall-clock time of media time 0 of the run (the camera's first frame), once known. */
  anchor: number | null;
  listOffset: number;
  handled: Set<string>;
  /** End of the last segment taken, in the run's media seconds. */
  lastEnd: number | null;
  /** End of the last segment taken, wall clock. */
  lastEndedAt: number | null;
  timer: TimerHandle | null;
  finished: boolean;
}

interface TrackSpan {
  from: number;
  to: number;
  open: boolean;
}

/** Wall-clock drift between the camera's media time and the device clock tolerated before re-anchoring. */
const MAX_DRIFT_MS = 5_000;

/**
 * The DVR of one camera. The camera's one ffmpeg process gets a recorder output per run (stream
 * copy into fragmented-MP4 segments in a staging directory of that run, see recorder-output.ts);
 * the recorder reads the run's segment list as segments close, checks each file (fmp4.ts), gives
 * it its wall-clock start (the camera's first frame of the run + the segment's media start), moves
 * it to `recordings/<org>/<camera>/<yyyymmdd>/<hh>/<startedAt>.mp4`, indexes it and reports it.
 *
 * - A camera outage ends the run; the next run starts after the source's backoff: a gap.
 * - A run that ended badly (ffmpeg killed, the device crashed) leaves a segment file that is not in
 *   the list: it is cut back to its last whole fragment and kept if that plays, else removed.
 * - Events mode: ffmpeg records all the time (the pre-roll needs the past); a closed segment stays
 *   pending until no track can still reach it, then it is kept (and reported) or removed.
 * - Any mode: a segment overlapping a track (± the rolls) or a protected range is protected from
 *   the age caps for `recording.protectedDays`.
 * - Paused (disk below its floor): closed segments are removed at once, so at most one segment in
 *   progress takes space.
 */
export class CameraRecorder extends TypedEmitter<CameraRecorderEvents> {
  readonly cameraId: string;
  readonly mode: CameraRecordConfig['mode'];
  readonly index: SegmentIndex;
  private readonly o: CameraRecorderOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pollMs: number;
  private readonly confirmDelayMs: number;
  private current: Run | null = null;
  private runSeq = 0;
  private work: Promise<void> = Promise.resolve();
  private online = false;
  private cameraDown = false;
  private diskPaused = false;
  private writerError: string | null = null;
  private stateNow: { state: RecorderState; reason: RecorderStateReason | undefined } | null = null;
  private eventSeq = 0;
  private readonly tracks = new Map<string, TrackSpan>();
  private readonly protections: { from: number; to: number }[] = [];
  private readonly undecided = new Set<string>();
  private closed = false;

  constructor(options: CameraRecorderOptions) {
    super();
    this.o = options;
    this.cameraId = options.cameraId;
    this.mode = options.record.mode;
    this.index = options.index;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({
      camera: options.cameraId,
      component: 'recorder',
    });
    this.pollMs = options.pollMs ?? 1000;
    this.confirmDelayMs = options.confirmDelayMs ?? 5000;
  }

  /** The staging directory of this camera's runs. */
  get stagingDir(): string {
    return resolveRef(this.o.dataDir, ['recordings', '.staging', this.o.orgId, this.cameraId].join('/'));
  }

  get state(): RecorderState | null {
    return this.stateNow?.state ?? null;
  }

  /**
   * Opening: the runs a previous process left in staging (it crashed or was killed) are finished
   * now, and segments left pending in events mode are kept (what they overlapped is unknown).
   */
  async open(): Promise<void> {
    if (this.mode === 'off') this.setState('off', undefined);
    for (const s of this.index.list())
      if (s.pending) {
        await this.index.update(s.segment.segmentId, { pending: false, protected: true });
        this.reportRecorded(s);
      }
    let names: string[] = [];
    try {
      names = (await readdir(this.stagingDir, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const name of names) {
      const run = newRun(join(this.stagingDir, name));
      try {
        const saved = JSON.parse(await readFile(join(run.dir, 'run.json'), 'utf8')) as { anchor?: unknown };
        if (typeof saved.anchor === 'number') run.anchor = saved.anchor;
      } catch {
        // no anchor saved: each file's own time is used (see take)
      }
      await this.finishRun(run);
    }
  }

  /** Wires the recorder to its camera source. */
  attach(source: RecordedSource): void {
    source.on('status', (s) => this.onStatus(s));
    source.on('exited', () => this.onExited());
  }

  /**
   * The recorder's ffmpeg output for the run about to start (the source calls it before each
   * start): a fresh staging directory, or no output at all when the mode is off or the directory
   * cannot be made (the camera keeps working without recording).
   */
  attemptOutputs(): string[][] {
    if (this.mode === 'off' || this.closed) return [];
    if (this.current) this.endRun(this.current);
    const dir = join(this.stagingDir, `${this.clock.now()}-${++this.runSeq}`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      this.writerError = `cannot write recordings: ${errorMessage(err)}`;
      this.logger.error({ err: errorMessage(err), dir }, 'recording disabled for this run');
      this.refreshState();
      return [];
    }
    this.writerError = null;
    const run = newRun(dir);
    this.current = run;
    this.schedulePoll(run);
    return [recorderOutputArgs({ dir, segmentSeconds: this.o.record.segmentSeconds })];
  }

  onStatus(s: { state: string; at: number; problem: { message: string } | null }): void {
    if (this.mode === 'off') return;
    if (s.state === 'online') {
      this.online = true;
      const run = this.current;
      if (run && run.anchor === null) {
        // A first guess (the first decoded frame); the first closed segment refines it (see take).
        run.anchor = s.at;
        this.enqueue(() => writeFile(join(run.dir, 'run.json'), JSON.stringify({ anchor: s.at })));
      }
    } else if (s.state === 'offline') {
      this.online = false;
      this.cameraDown = true;
    }
    this.refreshState(s.state === 'offline' ? s.problem?.message : undefined);
  }

  /** The run's ffmpeg is gone: its files are complete; take what it left. */
  onExited(): void {
    if (this.current) this.endRun(this.current);
  }

  /** Disk floor: paused recording removes segments as they close. */
  setDiskPaused(paused: boolean, freeBytes?: number): void {
    if (this.diskPaused === paused) return;
    this.diskPaused = paused;
    this.refreshState(undefined, freeBytes);
  }

  /** Track events of this camera: their spans decide events-mode keeping and protection. */
  onTrackEvent(e: TrackEventV1): void {
    const span = this.tracks.get(e.trackId) ?? { from: e.firstSeenAt, to: e.lastSeenAt, open: true };
    span.from = Math.min(span.from, e.firstSeenAt);
    span.to = Math.max(span.to, e.lastSeenAt);
    span.open = e.type !== 'TrackEnded';
    this.tracks.set(e.trackId, span);
  }

  /** Protects what overlaps [from, to] (an alert): segments already closed and those to come. */
  async protect(from: number, to: number): Promise<void> {
    this.protections.push({ from, to });
    for (const s of this.index.list())
      if (!s.protected && s.segment.startedAt < to && s.segment.endedAt > from)
        await this.index.update(s.segment.segmentId, { protected: true });
  }

  /**
   * Decides the segments no track can still reach: events mode keeps (and reports) or removes
   * them; any mode marks the ones overlapping tracks as protected. Called by the manager's ticks.
   */
  async decide(now = this.clock.now()): Promise<void> {
    const waitMs = this.o.record.preRollSeconds * 1000 + this.confirmDelayMs;
    for (const id of [...this.undecided]) {
      const s = this.index.get(id);
      if (!s) {
        this.undecided.delete(id);
        continue;
      }
      if (now < s.segment.endedAt + waitMs) continue;
      this.undecided.delete(id);
      const wanted = this.overlapsActivity(s.segment.startedAt, s.segment.endedAt, now);
      if (s.pending) {
        if (wanted) {
          await this.index.update(id, { pending: false, protected: true });
          this.reportRecorded(s);
        } else await this.index.remove([id]);
        this.emit('decided', s, wanted);
      } else if (wanted && !s.protected) await this.index.update(id, { protected: true });
    }
    this.pruneTracks(now);
  }

  /** Reports deletions (retention) to the server. */
  reportDeleted(
    ids: string[],
    reason: 'max_age' | 'max_size' | 'total_max_size' | 'free_space_floor' | 'user',
  ): void {
    for (let i = 0; i < ids.length; i += 10_000) {
      const chunk = ids.slice(i, i + 10_000);
      const at = this.clock.now();
      this.o.publish({
        schema: 'recording.v1',
        type: 'SegmentsDeleted',
        orgId: this.o.orgId,
        deviceId: this.o.deviceId,
        cameraId: this.cameraId,
        eventId: `${this.cameraId}:deleted:${at}:${++this.eventSeq}`,
        at,
        segmentIds: chunk,
        reason,
      });
    }
  }

  /** Waits for everything queued (the last run's segments after the source stopped). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.current) this.endRun(this.current);
    await this.work;
    await this.index.flush();
  }

  /** For tests and the manager: resolves when the queued work is done. */
  idle(): Promise<void> {
    return this.work;
  }

  // --- runs ------------------------------------------------------------------------------------

  private endRun(run: Run): void {
    if (this.current === run) this.current = null;
    if (run.timer) this.clock.clearTimeout(run.timer);
    run.timer = null;
    this.enqueue(() => this.finishRun(run));
  }

  private schedulePoll(run: Run): void {
    run.timer = this.clock.setTimeout(() => {
      run.timer = null;
      if (run.finished || this.current !== run) return;
      this.enqueue(async () => {
        if (!run.finished) await this.readList(run, true);
        if (!run.finished && this.current === run) this.schedulePoll(run);
      });
    }, this.pollMs);
  }

  private enqueue(job: () => Promise<unknown>): void {
    this.work = this.work.then(job).then(
      () => {},
      (err) => this.logger.error({ err: errorMessage(err) }, 'recorder job failed'),
    );
  }

  /** New lines of the run's segment list: each one a closed segment. */
  private async readList(run: Run, live = false): Promise<void> {
    let text: string;
    try {
      const fh = await open(join(run.dir, SEGMENT_LIST), 'r');
      try {
        const { size } = await fh.stat();
        const buf = Buffer.alloc(Math.max(0, size - run.listOffset));
        const { bytesRead } = await fh.read(buf, 0, buf.length, run.listOffset);
        text = buf.subarray(0, bytesRead).toString('latin1');
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const { entries, consumed } = parseSegmentList(text);
    run.listOffset += consumed;
    for (const e of entries) {
      const name = basename(e.file);
      if (run.handled.has(name) || !SEGMENT_FILE.test(name)) continue;
      run.handled.add(name);
      // Only the newest line was just written: older ones waited for a slow job.
      await this.take(run, name, e.start, e.end, live && e === entries[entries.length - 1]);
    }
  }

  /** The run is over: the rest of its list, then any file ffmpeg did not get to close. */
  private async finishRun(run: Run): Promise<void> {
    if (run.finished) return;
    run.finished = true;
    await this.readList(run);
    let names: string[] = [];
    try {
      names = (await readdir(run.dir)).filter((n) => SEGMENT_FILE.test(n) && !run.handled.has(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const name of names) {
      run.handled.add(name);
      const file = join(run.dir, name);
      try {
        const info = await inspectFmp4(file);
        if (!isPlayable(info) || info.endSeconds === null || info.startSeconds === null) {
          this.logger.warn({ file: name, bytes: info.fileBytes }, 'unfinished segment not playable: removed');
          await rm(file, { force: true });
          continue;
        }
        const first = Number(SEGMENT_FILE.exec(name)?.[1]) === 0;
        const start = run.lastEnd ?? (first ? 0 : info.startSeconds);
        this.logger.warn(
          { file: name, seconds: Math.round((info.endSeconds - start) * 10) / 10 },
          'unfinished segment kept up to its last whole fragment',
        );
        await this.take(run, name, start, info.endSeconds);
      } catch (err) {
        this.logger.warn(
          { err: errorMessage(err), file: name },
          'unfinished segment could not be read: removed',
        );
        await rm(file, { force: true });
      }
    }
    await rm(run.dir, { recursive: true, force: true });
  }

  /** Checks a closed segment, gives it its wall-clock time, moves it into place, indexes and reports it. */
  private async take(
    run: Run,
    name: string,
    listStart: number,
    listEnd: number,
    live = false,
  ): Promise<void> {
    const file = join(run.dir, name);
    let start = listStart;
    let end = listEnd;
    if (this.diskPaused) {
      await rm(file, { force: true });
      run.lastEnd = end;
      return;
    }
    const info = await inspectFmp4(file).catch(() => null);
    if (!info || !isPlayable(info)) {
      this.logger.warn({ file: name }, 'closed segment is not a playable fragmented MP4: removed');
      await rm(file, { force: true });
      return;
    }
    if (info.validBytes < info.fileBytes) await truncate(file, info.validBytes);
    // The file's own fragment times are what it holds (the list's first start counts the
    // decoder delay of B-frames as well); they agree with the list on every cut.
    if (info.startSeconds !== null && info.endSeconds !== null && info.endSeconds > info.startSeconds) {
      start = info.startSeconds;
      end = info.endSeconds;
    }
    if (live) {
      // Seen as it closed: the segment's last frame arrived about now (within a poll), which
      // places media time 0 more exactly than the first decoded frame does (ffmpeg's probing and
      // the frame filters delay that one). The earliest estimate is the best one; a later one
      // far above it means the camera's clock runs slow against the device's: re-anchor.
      const estimate = Math.round(this.clock.now() - end * 1000 - this.pollMs / 2);
      if (run.anchor === null || estimate < run.anchor || estimate - run.anchor > MAX_DRIFT_MS) {
        if (run.anchor !== null && estimate - run.anchor > MAX_DRIFT_MS)
          this.logger.info({ driftMs: estimate - run.anchor }, 'recording clock re-anchored');
        run.anchor = estimate;
        await writeFile(join(run.dir, 'run.json'), JSON.stringify({ anchor: run.anchor }));
      }
    }
    if (run.anchor === null) {
      // No time known (a crash before the camera was online): the file's own time stands in.
      const mtime = (await stat(file)).mtimeMs;
      run.anchor = Math.round(mtime - end * 1000);
    }
    let startedAt = Math.round(run.anchor + start * 1000);
    if (run.lastEndedAt !== null && startedAt < run.lastEndedAt) startedAt = run.lastEndedAt;
    const durationMs = Math.max(1, Math.round((end - start) * 1000));
    while (this.index.has(segmentIdOf(this.cameraId, startedAt))) startedAt++;
    const ref = segmentRef(this.o.orgId, this.cameraId, startedAt);
    const target = resolveRef(this.o.dataDir, ref);
    await mkdir(dirname(target), { recursive: true });
    await rename(file, target);
    const pending = this.mode === 'events';
    const stored: StoredSegment = {
      segment: {
        segmentId: segmentIdOf(this.cameraId, startedAt),
        startedAt,
        endedAt: startedAt + durationMs,
        durationMs,
        bytes: info.validBytes,
        path: ref,
        reason: pending ? 'event' : 'continuous',
        ...(info.codec ? { codec: info.codec.slice(0, 32) } : {}),
        ...(info.width ? { width: info.width } : {}),
        ...(info.height ? { height: info.height } : {}),
      },
      protected: false,
      pending,
    };
    await this.index.add(stored);
    run.lastEnd = end;
    run.lastEndedAt = stored.segment.endedAt;
    if (!pending) this.reportRecorded(stored);
    this.undecided.add(stored.segment.segmentId);
    this.emit('segment', stored);
  }

  // --- tracks and state ------------------------------------------------------------------------

  private overlapsActivity(from: number, to: number, now: number): boolean {
    const pre = this.o.record.preRollSeconds * 1000;
    const post = this.o.record.postRollSeconds * 1000;
    for (const t of this.tracks.values()) {
      const a = t.from - pre;
      const b = (t.open ? now : t.to) + post;
      if (a < to && b > from) return true;
    }
    return this.protections.some((p) => p.from < to && p.to > from);
  }

  private pruneTracks(now: number): void {
    const horizon = now - (this.o.record.postRollSeconds + this.o.record.preRollSeconds) * 1000 - 3_600_000;
    for (const [id, t] of this.tracks) if (!t.open && t.to < horizon) this.tracks.delete(id);
    for (let i = this.protections.length - 1; i >= 0; i--)
      if ((this.protections[i]?.to ?? 0) < horizon) this.protections.splice(i, 1);
  }

  private reportRecorded(s: StoredSegment): void {
    this.o.publish({
      schema: 'recording.v1',
      type: 'SegmentRecorded',
      orgId: this.o.orgId,
      deviceId: this.o.deviceId,
      cameraId: this.cameraId,
      eventId: `${s.segment.segmentId}:recorded`,
      at: this.clock.now(),
      segment: { ...s.segment, reason: this.mode === 'events' ? 'event' : s.segment.reason },
    });
  }

  private refreshState(message?: string, freeBytes?: number): void {
    if (this.mode === 'off') return;
    if (this.diskPaused) this.setState('paused', 'disk_full', message, freeBytes);
    else if (this.writerError) this.setState('paused', 'error', this.writerError);
    else if (this.online) this.setState('recording', undefined);
    // Waiting for the first frame is not an outage; waiting after the camera went offline is.
    else this.setState('waiting', this.cameraDown ? 'camera_offline' : undefined, message);
  }

  private setState(
    state: RecorderState,
    reason: RecorderStateReason | undefined,
    message?: string,
    freeBytes?: number,
  ): void {
    if (this.stateNow?.state === state && this.stateNow.reason === reason) return;
    this.stateNow = { state, reason };
    const at = this.clock.now();
    this.logger[state === 'paused' ? 'warn' : 'info']({ state, reason }, `recording ${state}`);
    this.o.publish({
      schema: 'recording.v1',
      type: 'RecordingStateChanged',
      orgId: this.o.orgId,
      deviceId: this.o.deviceId,
      cameraId: this.cameraId,
      eventId: `${this.cameraId}:state:${at}:${++this.eventSeq}`,
      at,
      state,
      ...(reason ? { reason } : {}),
      ...(message ? { message: message.slice(0, 1000) } : {}),
      ...(freeBytes !== undefined ? { freeBytes: Math.max(0, Math.floor(freeBytes)) } : {}),
    });
    this.emit('state', state, reason);
  }
}

function newRun(dir: string): Run {
  return {
    dir,
    anchor: null,
    listOffset: 0,
    handled: new Set(),
    lastEnd: null,
    lastEndedAt: null,
    timer: null,
    finished: false,
  };
}
