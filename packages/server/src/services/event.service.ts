import { IcebergError } from '@iceberg/common';
import type { Box, ObjectClass } from '@iceberg/contracts';
import type { Page, PageRequest, Store, TrackListFilter, TrackRecord } from '@iceberg/store';
import type { SnapshotFile, SnapshotFiles } from '../snapshot-files.ts';

/** An event (one tracked object) as the API shows it. */
export interface EventView {
  trackId: string;
  cameraId: string;
  deviceId: string;
  class: ObjectClass;
  /** Best score so far. */
  score: number;
  firstSeenAt: number;
  lastSeenAt: number;
  /** When the track ended; null while the object is still tracked. */
  endedAt: number | null;
  /** How long the object was seen: lastSeenAt − firstSeenAt. */
  durationMs: number;
  stationary: boolean;
  /** The last box seen, normalised [x, y, width, height]. */
  box: Box;
  /** Analysed frames in which the object was matched; known once the track has ended. */
  hits: number | null;
  /** Where to GET the best picture of the object (authenticated), or null when there is none. */
  snapshotUrl: string | null;
}

export type EventFilter = TrackListFilter;

export function eventSnapshotUrl(cameraId: string, trackId: string): string {
  return `/api/cameras/${encodeURIComponent(cameraId)}/events/${encodeURIComponent(trackId)}/snapshot`;
}

export function toEventView(t: TrackRecord): EventView {
  return {
    trackId: t.trackId,
    cameraId: t.cameraId,
    deviceId: t.deviceId,
    class: t.class,
    score: t.score,
    firstSeenAt: t.firstSeenAt,
    lastSeenAt: t.lastSeenAt,
    endedAt: t.endedAt,
    durationMs: Math.max(0, t.lastSeenAt - t.firstSeenAt),
    stationary: t.stationary,
    box: t.box,
    hits: t.hits,
    snapshotUrl: t.snapshot ? eventSnapshotUrl(t.cameraId, t.trackId) : null,
  };
}

/**
 * Reading events (tracks) of one organisation: every method takes the caller's organisation and
 * finds nothing of any other, so another tenant's ids are simply not found.
 */
export class EventService {
  constructor(
    private readonly store: Pick<Store, 'tracks'>,
    private readonly snapshots: Pick<SnapshotFiles, 'read'>,
  ) {}

  /** Newest first (by first seen), filtered and paginated. */
  async list(orgId: string, filter: EventFilter, page: PageRequest): Promise<Page<EventView>> {
    const result = await this.store.tracks.list(orgId, filter, page);
    return { items: result.items.map(toEventView), nextCursor: result.nextCursor };
  }

  async get(orgId: string, cameraId: string, trackId: string): Promise<EventView> {
    return toEventView(await this.track(orgId, cameraId, trackId));
  }

  /** The best picture of the event. */
  async snapshot(orgId: string, cameraId: string, trackId: string): Promise<SnapshotFile> {
    const track = await this.track(orgId, cameraId, trackId);
    if (!track.snapshot)
      throw new IcebergError(
        'ICEBERG_ERR_NOT_FOUND',
        `event ${trackId} on camera ${cameraId} has no snapshot`,
      );
    const file = await this.snapshots.read(track.snapshot.ref, orgId);
    if (!file)
      throw new IcebergError(
        'ICEBERG_ERR_NOT_FOUND',
        `the snapshot file of event ${trackId} on camera ${cameraId} is missing (it may have been removed by retention)`,
      );
    return file;
  }

  private async track(orgId: string, cameraId: string, trackId: string): Promise<TrackRecord> {
    const track = await this.store.tracks.get(orgId, cameraId, trackId);
    if (!track)
      throw new IcebergError(
        'ICEBERG_ERR_NOT_FOUND',
        `no event ${trackId} on camera ${cameraId} in this organisation`,
      );
    return track;
  }
}
