/**
 * The HLS VOD playlist of a range of recording segments (pure). Each segment is a self-contained
 * fragmented MP4; the playlist names its init part (`#EXT-X-MAP`) and its media part, stamps each
 * with its real time (`#EXT-X-PROGRAM-DATE-TIME`), and puts `#EXT-X-DISCONTINUITY` wherever
 * the player cannot simply carry on: a gap in time (an outage, a restart), a new init part, or
 * media timestamps that do not continue from the previous segment (a recorder that starts every
 * segment at zero). hls.js and ffmpeg both play it.
 */

export interface PlaylistSegment {
  /** Used only to build URIs. */
  id: string;
  startedAt: number;
  durationMs: number;
  /** Identity of the init part (a hash): equal ids share one `#EXT-X-MAP`. */
  initId: string;
  /** Media time of the first sample, in seconds; null when unknown (then always a discontinuity). */
  mediaStartSeconds: number | null;
}

export interface PlaylistOptions {
  /** URI of a segment's init part and of its media part, relative to the playlist. */
  uri: (segment: PlaylistSegment, part: 'init' | 'media') => string;
  /** Start playing this many seconds into the playlist (`#EXT-X-START`, precise). */
  startSeconds?: number;
  /** A wall-clock jump larger than this between two segments is a gap (default 1,000 ms). */
  gapToleranceMs?: number;
  /** Media timestamps off by more than this from continuing are a new timeline (default 0.5 s). */
  timelineToleranceSeconds?: number;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** Where a discontinuity is needed before `cur`, or null when it continues `prev`. */
export function discontinuityReason(
  prev: PlaylistSegment,
  cur: PlaylistSegment,
  o: Pick<PlaylistOptions, 'gapToleranceMs' | 'timelineToleranceSeconds'> = {},
): 'gap' | 'init' | 'timeline' | null {
  const gapTolerance = o.gapToleranceMs ?? 1000;
  const timelineTolerance = o.timelineToleranceSeconds ?? 0.5;
  if (Math.abs(cur.startedAt - (prev.startedAt + prev.durationMs)) > gapTolerance) return 'gap';
  if (cur.initId !== prev.initId) return 'init';
  if (prev.mediaStartSeconds === null || cur.mediaStartSeconds === null) return 'timeline';
  const expected = prev.mediaStartSeconds + prev.durationMs / 1000;
  return Math.abs(cur.mediaStartSeconds - expected) > timelineTolerance ? 'timeline' : null;
}

/** The playlist text (`#EXTM3U` … `#EXT-X-ENDLIST`) of `segments`, which must be in time order. */
export function buildVodPlaylist(segments: readonly PlaylistSegment[], o: PlaylistOptions): string {
  const longest = segments.reduce((m, s) => Math.max(m, s.durationMs), 1000);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${Math.ceil(longest / 1000)}`,
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-DISCONTINUITY-SEQUENCE:0',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  if (o.startSeconds !== undefined && o.startSeconds > 0)
    lines.push(`#EXT-X-START:TIME-OFFSET=${o.startSeconds.toFixed(3)},PRECISE=YES`);
  let prev: PlaylistSegment | null = null;
  for (const s of segments) {
    const reason = prev ? discontinuityReason(prev, s, o) : null;
    if (reason) lines.push('#EXT-X-DISCONTINUITY');
    if (!prev || reason) lines.push(`#EXT-X-MAP:URI="${o.uri(s, 'init')}"`);
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startedAt).toISOString()}`);
    lines.push(`#EXTINF:${seconds(s.durationMs)},`);
    lines.push(o.uri(s, 'media'));
    prev = s;
  }
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

/** Seconds from the start of the playlist of `segments` to the wall-clock instant `at` (clamped). */
export function playlistOffsetSeconds(segments: readonly PlaylistSegment[], at: number): number {
  let offset = 0;
  for (const s of segments) {
    if (at < s.startedAt) return offset; // in a gap: the next recorded moment
    if (at < s.startedAt + s.durationMs) return offset + (at - s.startedAt) / 1000;
    offset += s.durationMs / 1000;
  }
  return offset;
}
