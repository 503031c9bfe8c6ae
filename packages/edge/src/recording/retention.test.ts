import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planRetention, type RetentionPolicy, type RetentionSegment } from './retention.ts';

const DAY = 86_400_000;
const NOW = 100 * DAY;
const MB = 1_000_000;

/** Segment `n` of a camera: 10 s long, `ageDays` old, `mb` megabytes. */
function seg(
  cameraId: string,
  n: number,
  ageDays: number,
  mb = 1,
  extra: Partial<RetentionSegment> = {},
): RetentionSegment {
  const endedAt = NOW - ageDays * DAY;
  return {
    id: `${cameraId}:${n}`,
    cameraId,
    startedAt: endedAt - 10_000,
    endedAt,
    bytes: mb * MB,
    protected: false,
    ...extra,
  };
}

const policy = (p: Partial<RetentionPolicy> = {}): RetentionPolicy => ({
  cameras: {},
  total: { maxAgeMs: 30 * DAY },
  protectedMs: 90 * DAY,
  ...p,
});

const cases: {
  name: string;
  segments: RetentionSegment[];
  policy: RetentionPolicy;
  need?: number;
  expect: string[];
}[] = [
  { name: 'nothing to do', segments: [seg('a', 1, 1), seg('a', 2, 0)], policy: policy(), expect: [] },
  {
    name: 'overall max age',
    segments: [seg('a', 1, 31), seg('a', 2, 29), seg('b', 1, 40)],
    policy: policy(),
    expect: ['b:1 max_age', 'a:1 max_age'],
  },
  {
    name: 'a camera’s own shorter age cap; a longer one does not extend the overall cap',
    segments: [seg('a', 1, 8), seg('b', 1, 8), seg('c', 1, 35)],
    policy: policy({ cameras: { a: { maxAgeMs: 7 * DAY }, c: { maxAgeMs: 60 * DAY } } }),
    expect: ['c:1 max_age', 'a:1 max_age'],
  },
  {
    name: 'protected segments outlive the age cap up to protectedMs',
    segments: [
      seg('a', 1, 95, 1, { protected: true }),
      seg('a', 2, 60, 1, { protected: true }),
      seg('a', 3, 60),
    ],
    policy: policy(),
    expect: ['a:1 max_age', 'a:3 max_age'],
  },
  {
    name: 'camera size cap: oldest first, unprotected before protected',
    segments: [
      seg('a', 1, 5, 2, { protected: true }),
      seg('a', 2, 4, 2),
      seg('a', 3, 3, 2),
      seg('a', 4, 2, 2),
      seg('b', 1, 9, 5),
    ],
    policy: policy({ cameras: { a: { maxBytes: 4 * MB } } }),
    expect: ['a:2 max_size', 'a:3 max_size'],
  },
  {
    name: 'camera size cap reaches protected segments when only they are left',
    segments: [seg('a', 1, 5, 3, { protected: true }), seg('a', 2, 4, 3, { protected: true })],
    policy: policy({ cameras: { a: { maxBytes: 4 * MB } } }),
    expect: ['a:1 max_size'],
  },
  {
    name: 'total size cap: oldest across cameras',
    segments: [seg('a', 1, 5, 2), seg('b', 1, 6, 2), seg('a', 2, 1, 2), seg('b', 2, 2, 2)],
    policy: policy({ total: { maxAgeMs: 30 * DAY, maxBytes: 5 * MB } }),
    expect: ['b:1 total_max_size', 'a:1 total_max_size'],
  },
  {
    name: 'free-space floor: oldest unprotected until enough is freed, counting what the caps freed',
    segments: [
      seg('a', 1, 31, 1),
      seg('a', 2, 5, 2, { protected: true }),
      seg('b', 1, 4, 2),
      seg('a', 3, 3, 2),
      seg('b', 2, 1, 2),
    ],
    policy: policy(),
    need: 4 * MB,
    expect: ['a:1 max_age', 'b:1 free_space_floor', 'a:3 free_space_floor'],
  },
  {
    name: 'the floor never takes protected or pending segments',
    segments: [seg('a', 1, 5, 2, { protected: true }), seg('a', 2, 0, 2, { pending: true })],
    policy: policy(),
    need: 10 * MB,
    expect: [],
  },
];

for (const c of cases)
  test(`retention: ${c.name}`, () => {
    const got = planRetention(c.segments, c.policy, NOW, c.need ?? 0).map((d) => `${d.id} ${d.reason}`);
    assert.deepEqual(got, c.expect);
  });
