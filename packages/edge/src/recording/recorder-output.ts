import { join } from 'node:path';

/** The segment list ffmpeg keeps in each run's directory: one CSV line per closed segment. */
export const SEGMENT_LIST = 'segments.csv';
/** Segment files of a run, numbered from 0 by ffmpeg. */
export const SEGMENT_PATTERN = '%06d.mp4';
export const SEGMENT_FILE = /^(\d{6,})\.mp4$/;

/**
 * mp4 options of every segment: fragmented (a fragment per keyframe, so a crash loses at most the
 * fragment being written), `empty_moov` (the header comes first: every file plays by itself),
 * `default_base_moof` (what MSE and hls.js expect). `frag_discont` + `avoid_negative_ts` keep the
 * run's own timestamps in every file (the muxer would otherwise restart each file at zero), so the
 * segments of one run concatenate into one continuous timeline (HLS without discontinuities).
 */
export const SEGMENT_MOVFLAGS = 'movflags=+frag_keyframe+empty_moov+default_base_moof+frag_discont';

/**
 * The recorder's output of the camera's one ffmpeg process: the first video stream copied (no
 * re-encoding), cut on keyframes into segments of about `segmentSeconds` in `dir`, with the list
 * of closed segments (file, start, end in the run's media seconds) in `dir/segments.csv`.
 * Video only: camera audio is often G.711, which MP4 cannot carry without re-encoding.
 */
export function recorderOutputArgs(o: { dir: string; segmentSeconds: number }): string[] {
  if (!(o.segmentSeconds >= 1 && Number.isFinite(o.segmentSeconds)))
    throw new RangeError(`segmentSeconds must be at least 1, got ${o.segmentSeconds}`);
  return [
    '-map',
    '0:v:0',
    '-c',
    'copy',
    '-an',
    '-sn',
    '-dn',
    '-f',
    'segment',
    '-segment_time',
    String(o.segmentSeconds),
    '-segment_format',
    'mp4',
    '-segment_format_options',
    // flush_packets: each fragment reaches the file when it is complete, not when ffmpeg's
    // 32 KB buffer happens to fill, so a kill -9 loses at most the fragment being written.
    `${SEGMENT_MOVFLAGS}:avoid_negative_ts=make_non_negative:flush_packets=1`,
    '-reset_timestamps',
    '0',
    '-segment_list',
    join(o.dir, SEGMENT_LIST),
    '-segment_list_type',
    'csv',
    join(o.dir, SEGMENT_PATTERN),
  ];
}

/** One line of the segment list: the file and its start and end in the run's media seconds. */
export interface SegmentListEntry {
  file: string;
  start: number;
  end: number;
}

/**
 * Parses the complete lines of a segment list (ffmpeg's csv: `file,start,end`, the file quoted
 * when it has a comma or a quote); returns the entries and how many characters were consumed,
 * so a line still being written is read again next time.
 */
export function parseSegmentList(text: string): { entries: SegmentListEntry[]; consumed: number } {
  const entries: SegmentListEntry[] = [];
  let consumed = 0;
  for (;;) {
    const nl = text.indexOf('\n', consumed);
    if (nl < 0) break;
    const line = text.slice(consumed, nl).replace(/\r$/, '');
    consumed = nl + 1;
    const m = /^(?:"((?:[^"]|"")*)"|([^,]*)),([^,]+),([^,]+)$/.exec(line);
    if (!m) continue;
    const file = m[1] !== undefined ? m[1].replaceAll('""', '"') : (m[2] ?? '');
    const start = Number(m[3]);
    const end = Number(m[4]);
    if (file && Number.isFinite(start) && Number.isFinite(end) && end >= start)
      entries.push({ file, start, end });
  }
  return { entries, consumed };
}
