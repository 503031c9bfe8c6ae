import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isTimeZone, isWithinSchedule, type Schedule, wallClock } from './schedule.ts';

const utc = (iso: string) => Date.parse(`${iso}Z`);

describe('isWithinSchedule', () => {
  const nightsFri: Schedule = { timeZone: 'Europe/London', days: ['fri'], from: '22:00', to: '06:00' };
  const everyNight: Schedule = {
    timeZone: 'Europe/London',
    days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
    from: '22:00',
    to: '06:00',
  };
  const officeHours: Schedule = {
    timeZone: 'America/New_York',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    from: '09:00',
    to: '17:30',
  };
  const allDayTue: Schedule = { timeZone: 'Asia/Kolkata', days: ['tue'], from: '00:00', to: '00:00' };

  const cases: Array<[string, Schedule, string, boolean]> = [
    // Winter: London is on GMT, so UTC is its wall clock.
    ['Friday 21:59 is before the window', nightsFri, '2025-01-10T21:59:00', false],
    ['Friday 22:00 opens it', nightsFri, '2025-01-10T22:00:00', true],
    ['Saturday 00:30 is past midnight, still Friday’s window', nightsFri, '2025-01-11T00:30:00', true],
    ['Saturday 05:59 is the last minute', nightsFri, '2025-01-11T05:59:59', true],
    ['Saturday 06:00 closes it', nightsFri, '2025-01-11T06:00:00', false],
    ['Saturday 23:00 is not listed', nightsFri, '2025-01-11T23:00:00', false],
    ['Friday 02:00 belongs to Thursday’s window, not listed', nightsFri, '2025-01-10T02:00:00', false],
    // Spring forward, Sunday 30 March 2025 01:00 UTC: London goes to BST (UTC+1).
    ['the night before: 05:30 UTC is 05:30 GMT, inside', everyNight, '2025-03-29T05:30:00', true],
    ['after the change: 05:30 UTC is 06:30 BST, outside', everyNight, '2025-03-30T05:30:00', false],
    ['after the change: 04:59 UTC is 05:59 BST, inside', everyNight, '2025-03-30T04:59:00', true],
    ['after the change: 21:30 UTC is 22:30 BST, inside', everyNight, '2025-03-30T21:30:00', true],
    ['after the change: 20:59 UTC is 21:59 BST, outside', everyNight, '2025-03-30T20:59:00', false],
    // Fall back, Sunday 26 October 2025 01:00 UTC: back to GMT.
    ['the morning before: 05:30 UTC is 06:30 BST, outside', everyNight, '2025-10-25T05:30:00', false],
    ['after the change: 05:30 UTC is 05:30 GMT, inside', everyNight, '2025-10-26T05:30:00', true],
    ['in the repeated hour: 01:30 UTC is 01:30 GMT, inside', everyNight, '2025-10-26T01:30:00', true],
    // Another zone, a window within the day.
    ['Monday 09:00 EST (14:00 UTC) opens office hours', officeHours, '2025-01-06T14:00:00', true],
    ['Monday 08:59 EST is before', officeHours, '2025-01-06T13:59:00', false],
    ['Monday 17:30 EDT (21:30 UTC in summer) closes', officeHours, '2025-06-02T21:30:00', false],
    ['Monday 17:29 EDT is inside', officeHours, '2025-06-02T21:29:00', true],
    ['Saturday noon is not a working day', officeHours, '2025-01-11T17:00:00', false],
    [
      'Friday 23:00 EST is Saturday 04:00 UTC, still Friday there, but after hours',
      officeHours,
      '2025-01-11T04:00:00',
      false,
    ],
    // from = to: the whole day.
    ['Tuesday 00:00 IST opens the whole day', allDayTue, '2025-01-06T18:30:00', true],
    ['Tuesday 23:59 IST is inside', allDayTue, '2025-01-07T18:29:00', true],
    ['Wednesday 00:00 IST is outside', allDayTue, '2025-01-07T18:30:00', false],
  ];
  for (const [name, schedule, iso, expected] of cases) {
    test(name, () => {
      assert.equal(isWithinSchedule(schedule, utc(iso)), expected);
    });
  }
});

describe('wallClock', () => {
  test('gives the zone’s weekday (Monday = 0) and minute of the day', () => {
    assert.deepEqual(wallClock(utc('2025-01-06T14:05:00'), 'America/New_York'), {
      day: 0,
      minute: 9 * 60 + 5,
    });
    assert.deepEqual(wallClock(utc('2025-01-06T00:30:00'), 'America/Los_Angeles'), {
      day: 6,
      minute: 16 * 60 + 30,
    });
    assert.deepEqual(wallClock(utc('2025-01-05T23:30:00'), 'Asia/Tokyo'), { day: 0, minute: 8 * 60 + 30 });
  });
});

describe('isTimeZone', () => {
  const cases: Array<[string, boolean]> = [
    ['Europe/London', true],
    ['America/Argentina/Buenos_Aires', true],
    ['UTC', true],
    ['Europe/Atlantis', false],
    ['GMT+25', false],
    ['', false],
  ];
  for (const [name, expected] of cases) {
    test(`${JSON.stringify(name)} → ${expected}`, () => assert.equal(isTimeZone(name), expected));
  }
});
