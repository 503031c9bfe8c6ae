import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiskGuard, floorBytes, statfsDisk } from './disk-guard.ts';

const GB = 1e9;

test('the floor is the larger of bytes and percent of the disk', () => {
  assert.equal(
    floorBytes({ freeBytes: 0, totalBytes: 100 * GB }, { bytes: 2 * GB, percent: 5, hysteresis: 0 }),
    5 * GB,
  );
  assert.equal(
    floorBytes({ freeBytes: 0, totalBytes: 10 * GB }, { bytes: 2 * GB, percent: 5, hysteresis: 0 }),
    2 * GB,
  );
});

test('pauses below the floor and resumes only above floor + hysteresis', () => {
  const guard = new DiskGuard({ bytes: 10 * GB, percent: 0, hysteresis: 0.2 });
  const at = (free: number) => guard.update({ freeBytes: free * GB, totalBytes: 500 * GB });
  assert.deepEqual([at(50).changed, guard.paused], [false, false]);
  assert.equal(guard.assess({ freeBytes: 9 * GB, totalBytes: 500 * GB }).needBytes, 3 * GB);
  assert.deepEqual([at(9).changed, guard.paused], [true, true]);
  assert.deepEqual([at(11).changed, guard.paused], [false, true]); // above the floor, below 12
  assert.deepEqual([at(12.5).changed, guard.paused], [true, false]);
  assert.deepEqual([at(10.5).changed, guard.paused], [false, false]); // above the floor: fine
});

test('statfs reports this machine’s disk', async () => {
  const s = await statfsDisk('.');
  assert.ok(s.totalBytes > 0 && s.freeBytes >= 0 && s.freeBytes <= s.totalBytes);
});
