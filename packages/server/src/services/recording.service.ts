import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Clock, IcebergError, type Logger } from '@iceberg/common';
import type { RecordingRecord, Store } from '@iceberg/store';
import type { UrlSigner } from '../auth/url-signer.ts';
import { buildVodPlaylist, type PlaylistSegment, playlistOffsetSeconds } from '../recordings/hls-playlist.ts';
import { readSegmentLayout, type SegmentLayout } from '../recordings/mp4-boxes.ts';
import { type ExportPart, exportClip } from '../recordings/recording-export.ts';
import type { OpenedSegment, SegmentReader } from '../recordings/segment-reader.ts';

/** Limits of the recordings API (documented in the OpenAPI document and docs/recording.md). */
export const recordingLimits = {
  /** Longest range a list or a playlist covers. */
  maxRangeMs: 24 * 3_600_000,
  /** Longest range exported as one MP4. */
  maxExportMs: 2 * 3_600_000,
  /** How long a playback or export link works. */
  urlTtlMs: 6 * 3_600_000,
  /** A jump between segments larger than this is a gap (an outage, a restart). */
  gapToleranceMs: 1_500,
  /** Exports that may run at once (each is one ffmpeg). */
  maxConcurrentExports: 2,
} as const;
export type RecordingLimits = { -readonly [K in keyof typeof recordingLimits]: number };

export interface RecordingSegmentView {
  segmentId: string;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  bytes: number;
  reason: 'continuous' | 'event';
  codec: string | null;
  width: number | null;
  height: number | null;
}

export interface RecordingRangeView {
  cameraId: string;
  from: number;
  to: number;
  segments: RecordingSegmentView[];
  /** Stretches of [from, min(to, now)] with no recording. */
  gaps: Array<{ from: number; to: number }>;
  totals: { segments: number; bytes: number; recordedMs: number; gapMs: number };
  /** Signed HLS VOD playlist of the range (no header needed), or null when nothing was recorded. */
  playbackUrl: string | null;
  /** Signed MP4 download of the range, or null when nothing was recorded or the range is too long to export. */
  exportUrl: string | null;
  /** When the two links stop working. */
  urlsExpireAt: number;
}

/** What a media token opens: one camera's range. */
interface RangeClaims {
  orgId: string;
  cameraId: string;
  from: number;
  to: number;
}

export interface RecordingServiceDeps {
  store: Pick<Store, 'recordings' | 'cameras'>;
  reader: SegmentReader;
  signer: UrlSigner;
  clock: Pick<Clock, 'now'>;
  logger: Logger;
  ffmpegPath: string;
  /** Where exports are assembled (default the OS temporary folder). */
  tmpDir?: string;
  limits?: Partial<RecordingLimits>;
}

const RESOURCE = /^recording\/([^/]+)\/(\d{1,15})-(\d{1,15})$/;
const LAYOUT_CACHE_SIZE = 5000;

const compactTime = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');

export const recordingMediaBase = '/media/recordings';

/**
 * Recordings of the caller's organisation: the range list with its gaps, the HLS VOD playlist
 * and its parts, the MP4 export. Media URLs carry a signed token naming the organisation, the
 * camera and the range, so a browser's `<video>` (or a download) needs no header; a token of
 * another organisation, forged, or expired is 403.
 */
export class RecordingService {
  private readonly limits: RecordingLimits;
  private readonly layouts = new Map<string, SegmentLayout>();
  private exporting = 0;

  constructor(private readonly deps: RecordingServiceDeps) {
    this.limits = { ...recordingLimits, ...deps.limits };
  }

  /** The camera's recordings overlapping [from, to), with gaps, totals and signed links. */
  async list(orgId: string, cameraId: string, from: number, to: number): Promise<RecordingRangeView> {
    this.checkRange(from, to, this.limits.maxRangeMs);
    if (!(await this.deps.store.cameras.get(orgId, cameraId)))
      throw new IcebergError('ICEBERG_ERR_NOT_FOUND', `no camera ${cameraId}`);
    const rows = await this.deps.store.recordings.listRange(orgId, cameraId, { from, to });
    const now = this.deps.clock.now();
    const end = Math.min(to, Math.max(from, now));
    const gaps: Array<{ from: number; to: number }> = [];
    let cursor = from;
    let recordedMs = 0;
    for (const r of rows) {
      if (r.startedAt - cursor > this.limits.gapToleranceMs)
        gaps.push({ from: cursor, to: Math.min(r.startedAt, end) });
      recordedMs += Math.max(0, Math.min(r.endedAt, to) - Math.max(r.startedAt, from, cursor));
      cursor = Math.max(cursor, r.endedAt);
    }
    if (end - cursor > this.limits.gapToleranceMs) gaps.push({ from: cursor, to: end });
    const expiresAt = now + this.limits.urlTtlMs;
    const token = this.deps.signer.sign({
      orgId,
      resource: `recording/${cameraId}/${from}-${to}`,
      expiresAt,
    });
    const base = `${recordingMediaBase}/${token}`;
    return {
      cameraId,
      from,
      to,
      segments: rows.map(toSegmentView),
      gaps: gaps.filter((g) => g.to > g.from),
      totals: {
        segments: rows.length,
        bytes: rows.reduce((n, r) => n + r.bytes, 0),
        recordedMs,
        gapMs: gaps.reduce((n, g) => n + Math.max(0, g.to - g.from), 0),
      },
      playbackUrl: rows.length > 0 ? `${base}/playlist.m3u8` : null,
      exportUrl: rows.length > 0 && to - from <= this.limits.maxExportMs ? `${base}/export.mp4` : null,
      urlsExpireAt: expiresAt,
    };
  }

  /**
   * The claims of a media token. `callerOrgId`: the organisation of a bearer token sent along
   * (if any); a link of another organisation is refused even when it is valid.
   */
  claims(token: string, callerOrgId?: string): RangeClaims {
    const c = this.deps.signer.verify(token, this.deps.clock.now());
    const m = RESOURCE.exec(c.resource);
    if (!m) throw new IcebergError('ICEBERG_ERR_FORBIDDEN', 'this media link is not valid or has expired');
    if (callerOrgId !== undefined && callerOrgId !== c.orgId)
      throw new IcebergError('ICEBERG_ERR_FORBIDDEN', 'this media link belongs to another organisation');
    return { orgId: c.orgId, cameraId: m[1]!, from: Number(m[2]), to: Number(m[3]) };
  }

  /** The HLS VOD playlist of the token's range: playable segments only, starting at `from`. */
  async playlist(token: string, callerOrgId?: string): Promise<string> {
    const c = this.claims(token, callerOrgId);
    const rows = await this.deps.store.recordings.listRange(c.orgId, c.cameraId, c);
    const layouts = await mapLimit(rows, 8, (r) => this.layout(r));
    const segments: PlaylistSegment[] = [];
    rows.forEach((r, i) => {
      const l = layouts[i];
      if (!l) return;
      segments.push({
        id: r.segmentId,
        startedAt: r.startedAt,
        durationMs: r.durationMs,
        initId: l.initHash,
        mediaStartSeconds: l.timescale && l.firstDecodeTime !== null ? l.firstDecodeTime / l.timescale : null,
      });
    });
    if (segments.length === 0)
      throw new IcebergError(
        'ICEBERG_ERR_NOT_FOUND',
        'nothing was recorded in this range (or the files are gone)',
      );
    const start = playlistOffsetSeconds(segments, c.from);
    return buildVodPlaylist(segments, {
      uri: (s, part) => `seg/${encodeURIComponent(s.id)}/${part === 'init' ? 'init.mp4' : 'media.m4s'}`,
      gapToleranceMs: this.limits.gapToleranceMs,
      ...(start > 0.05 ? { startSeconds: start } : {}),
    });
  }

  /** The init part (ftyp + moov) or the media part (the fragments) of one segment of the token's range. */
  async segmentPart(
    token: string,
    segmentId: string,
    part: 'init' | 'media',
    callerOrgId?: string,
  ): Promise<{ stream: Readable; length: number }> {
    const c = this.claims(token, callerOrgId);
    const row = await this.deps.store.recordings.get(c.orgId, c.cameraId, segmentId);
    if (!row || row.deletedAt !== null || row.endedAt <= c.from || row.startedAt >= c.to)
      throw new IcebergError('ICEBERG_ERR_NOT_FOUND', 'no such segment in this recording');
    const opened = await this.open(row);
    try {
      const layout = await this.layout(row, opened);
      if (!layout) throw new IcebergError('ICEBERG_ERR_NOT_FOUND', 'this segment cannot be played');
      const [start, end] = part === 'init' ? [0, layout.initEnd] : [layout.initEnd, layout.mediaEnd];
      const stream = opened.stream(start, end);
      return { stream, length: end - start };
    } finally {
      await opened.close();
    }
  }

  /**
   * The token's range as one MP4 file (stream copy, faststart). The caller sends `path` and then
   * calls `cleanup()`.
   */
  async export(
    token: string,
    callerOrgId?: string,
  ): Promise<{ path: string; length: number; filename: string; cleanup: () => Promise<void> }> {
    const c = this.claims(token, callerOrgId);
    if (c.to - c.from > this.limits.maxExportMs)
      throw new IcebergError(
        'ICEBERG_ERR_INPUT_INVALID',
        `a range longer than ${this.limits.maxExportMs / 60_000} minutes cannot be exported as one file`,
      );
    const rows = await this.deps.store.recordings.listRange(c.orgId, c.cameraId, c);
    if (rows.length === 0)
      throw new IcebergError('ICEBERG_ERR_NOT_FOUND', 'nothing was recorded in this range');
    if (this.exporting >= this.limits.maxConcurrentExports)
      throw new IcebergError('ICEBERG_ERR_RATE_LIMITED', 'other exports are running: try again in a minute');
    this.exporting++;
    const workDir = await mkdtemp(join(this.deps.tmpDir ?? tmpdir(), 'iceberg-export-'));
    const cleanup = async () => {
      await rm(workDir, { recursive: true, force: true });
    };
    try {
      const parts: ExportPart[] = [];
      for (const [i, r] of rows.entries()) {
        const opened = await this.deps.reader.open(r);
        if (!opened) {
          this.deps.logger.warn(
            { camera: r.cameraId, segment: r.segmentId },
            'export: segment file missing, skipped',
          );
          continue;
        }
        let file = opened.localPath;
        try {
          if (!file) {
            file = join(workDir, `part-${i}.mp4`);
            await pipeline(opened.stream(0, opened.size), createWriteStream(file));
          }
        } finally {
          await opened.close();
        }
        parts.push({ file, ...this.cut(r, c) });
      }
      if (parts.length === 0)
        throw new IcebergError('ICEBERG_ERR_NOT_FOUND', 'the files of this range are gone');
      // inpoint only on the first file, outpoint only on the last
      const first = parts[0]!;
      const last = parts.at(-1)!;
      for (const p of parts) {
        if (p !== first) delete p.inpoint;
        if (p !== last) delete p.outpoint;
      }
      const path = await exportClip({ ffmpegPath: this.deps.ffmpegPath, parts, workDir });
      const { size } = await stat(path);
      return {
        path,
        length: size,
        filename: `${c.cameraId}_${compactTime(c.from)}_${compactTime(c.to)}.mp4`,
        cleanup,
      };
    } catch (err) {
      await cleanup();
      throw err;
    } finally {
      this.exporting--;
    }
  }

  private cut(r: RecordingRecord, c: RangeClaims): Pick<ExportPart, 'inpoint' | 'outpoint'> {
    const cut: Pick<ExportPart, 'inpoint' | 'outpoint'> = {};
    if (c.from > r.startedAt) cut.inpoint = (c.from - r.startedAt) / 1000;
    if (c.to < r.endedAt) cut.outpoint = (c.to - r.startedAt) / 1000;
    return cut;
  }

  private checkRange(from: number, to: number, max: number): void {
    if (!(to > from))
      throw new IcebergError('ICEBERG_ERR_INPUT_INVALID', 'from must be before to', {
        details: { from, to },
      });
    if (to - from > max)
      throw new IcebergError(
        'ICEBERG_ERR_INPUT_INVALID',
        `the range is longer than ${max / 3_600_000} hours: ask for a shorter one`,
        { details: { from, to, maxRangeMs: max } },
      );
  }

  private async open(r: RecordingRecord): Promise<OpenedSegment> {
    const opened = await this.deps.reader.open(r);
    if (!opened) throw new IcebergError('ICEBERG_ERR_NOT_FOUND', 'the file of this segment is gone');
    return opened;
  }

  /** The segment's layout (cached by segment and size), or null when its file is missing or not fragmented MP4. */
  private async layout(r: RecordingRecord, opened?: OpenedSegment): Promise<SegmentLayout | null> {
    const key = JSON.stringify([r.orgId, r.cameraId, r.segmentId, r.bytes]);
    const cached = this.layouts.get(key);
    if (cached) return cached;
    const source = opened ?? (await this.deps.reader.open(r));
    if (!source) {
      this.deps.logger.warn({ camera: r.cameraId, segment: r.segmentId }, 'recording segment file missing');
      return null;
    }
    try {
      const layout = await readSegmentLayout(source);
      if (!layout) {
        this.deps.logger.warn(
          { camera: r.cameraId, segment: r.segmentId },
          'recording segment is not fragmented MP4',
        );
        return null;
      }
      if (this.layouts.size >= LAYOUT_CACHE_SIZE)
        this.layouts.delete(this.layouts.keys().next().value as string);
      this.layouts.set(key, layout);
      return layout;
    } finally {
      if (!opened) await source.close();
    }
  }
}

function toSegmentView(r: RecordingRecord): RecordingSegmentView {
  return {
    segmentId: r.segmentId,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    durationMs: r.durationMs,
    bytes: r.bytes,
    reason: r.reason,
    codec: r.codec,
    width: r.width,
    height: r.height,
  };
}

/** `fn` over `items` with at most `limit` running at once, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
