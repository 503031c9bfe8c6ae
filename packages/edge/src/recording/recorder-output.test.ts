import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSegmentList, recorderOutputArgs } from './recorder-output.ts';

test('the recorder output copies the video into fragmented-MP4 segments with a csv list', () => {
  const args = recorderOutputArgs({ dir: '/d/run-1', segmentSeconds: 10 });
  const at = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(at('-c'), 'copy');
  assert.equal(at('-f'), 'segment');
  assert.equal(at('-segment_time'), '10');
  assert.equal(at('-segment_list'), '/d/run-1/segments.csv');
  assert.match(at('-segment_format_options') ?? '', /frag_keyframe\+empty_moov\+default_base_moof/);
  assert.equal(args.at(-1), '/d/run-1/%06d.mp4');
  assert.throws(() => recorderOutputArgs({ dir: '/d', segmentSeconds: 0 }), RangeError);
});

test('the segment list is read line by line; a line still being written waits', () => {
  const text = '000000.mp4,0.000000,10.200000\n"a,""b"".mp4",10.2,20.2\nbroken line\n000002.mp4,20.2';
  const { entries, consumed } = parseSegmentList(text);
  assert.deepEqual(entries, [
    { file: '000000.mp4', start: 0, end: 10.2 },
    { file: 'a,"b".mp4', start: 10.2, end: 20.2 },
  ]);
  assert.equal(text.slice(consumed), '000002.mp4,20.2');
});
