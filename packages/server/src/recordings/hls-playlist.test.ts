import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildVodPlaylist,
  discontinuityReason,
  type PlaylistSegment,
  playlistOffsetSeconds,
} from './hls-playlist.ts';

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const seg = (i: number, o: Partial<PlaylistSegment> = {}): PlaylistSegment => ({
  id: `s${i}`,
  startedAt: T0 + i * 10_000,
  durationMs: 10_000,
  initId: 'A',
  mediaStartSeconds: i * 10,
  ...o,
});
const uri = (s: PlaylistSegment, part: 'init' | 'media') =>
  `seg/${s.id}/${part === 'init' ? 'init.mp4' : 'media.m4s'}`;

test('a continuous run is one timeline: one map, real times, exact durations, an end', () => {
  const text = buildVodPlaylist([seg(0), seg(1), seg(2, { durationMs: 10_200 })], { uri });
  const lines = text.trim().split('\n');
  assert.equal(lines[0], '#EXTM3U');
  assert.ok(lines.includes('#EXT-X-PLAYLIST-TYPE:VOD'));
  assert.ok(lines.includes('#EXT-X-TARGETDURATION:11'), 'target duration covers the longest segment');
  assert.equal(lines.filter((l) => l.startsWith('#EXT-X-MAP')).length, 1);
  assert.equal(lines.filter((l) => l === '#EXT-X-DISCONTINUITY').length, 0);
  assert.deepEqual(
    lines.filter((l) => l.startsWith('#EXTINF')),
    ['#EXTINF:10.000,', '#EXTINF:10.000,', '#EXTINF:10.200,'],
  );
  assert.deepEqual(
    lines.filter((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME')),
    [
      '#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:00:00.000Z',
      '#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:00:10.000Z',
      '#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:00:20.000Z',
    ],
  );
  assert.equal(lines.at(-1), '#EXT-X-ENDLIST');
  assert.ok(lines.indexOf('#EXT-X-MAP:URI="seg/s0/init.mp4"') < lines.indexOf('seg/s0/media.m4s'));
});

test('a gap, a new init or timestamps starting again at zero each begin a new timeline', () => {
  assert.equal(discontinuityReason(seg(0), seg(1)), null);
  assert.equal(
    discontinuityReason(seg(0), seg(1, { startedAt: T0 + 10_800 })),
    null,
    'clock jitter is no gap',
  );
  assert.equal(discontinuityReason(seg(0), seg(3)), 'gap');
  assert.equal(discontinuityReason(seg(0), seg(1, { initId: 'B' })), 'init');
  assert.equal(discontinuityReason(seg(0), seg(1, { mediaStartSeconds: 0 })), 'timeline');
  assert.equal(discontinuityReason(seg(0, { mediaStartSeconds: null }), seg(1)), 'timeline');

  const segments = [
    seg(0),
    seg(1, { mediaStartSeconds: 0 }),
    seg(5, { initId: 'B' }),
    seg(6, { initId: 'B' }),
  ];
  const lines = buildVodPlaylist(segments, { uri }).split('\n');
  assert.equal(lines.filter((l) => l === '#EXT-X-DISCONTINUITY').length, 2);
  assert.deepEqual(
    lines.filter((l) => l.startsWith('#EXT-X-MAP')),
    [
      '#EXT-X-MAP:URI="seg/s0/init.mp4"',
      '#EXT-X-MAP:URI="seg/s1/init.mp4"',
      '#EXT-X-MAP:URI="seg/s5/init.mp4"',
    ],
  );
  // the discontinuity comes right before the map of the segment it introduces
  const i = lines.indexOf('#EXT-X-MAP:URI="seg/s5/init.mp4"');
  assert.equal(lines[i - 1], '#EXT-X-DISCONTINUITY');
});

test('a start offset is written precisely; an empty range is still a valid playlist', () => {
  const text = buildVodPlaylist([seg(0)], { uri, startSeconds: 4.25 });
  assert.match(text, /^#EXT-X-START:TIME-OFFSET=4\.250,PRECISE=YES$/m);
  const empty = buildVodPlaylist([], { uri });
  assert.match(empty, /#EXT-X-ENDLIST/);
  assert.doesNotMatch(empty, /#EXTINF/);
});

test('an instant maps to its offset in the playlist; gaps are skipped', () => {
  const segments = [seg(0), seg(1), seg(4)];
  assert.equal(playlistOffsetSeconds(segments, T0 - 5000), 0);
  assert.equal(playlistOffsetSeconds(segments, T0 + 12_500), 12.5);
  assert.equal(playlistOffsetSeconds(segments, T0 + 25_000), 20, 'in the gap: where the next segment starts');
  assert.equal(playlistOffsetSeconds(segments, T0 + 43_000), 23);
  assert.equal(playlistOffsetSeconds(segments, T0 + 99_000), 30);
});
