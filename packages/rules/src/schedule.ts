/** Days of the week as rules name them, Monday first. */
export const weekDays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type WeekDay = (typeof weekDays)[number];

/** When a rule may fire: a daily window of wall-clock time in one time zone, on some days. */
export interface Schedule {
  /** IANA time zone name, e.g. `Europe/London`. */
  timeZone: string;
  /** Days on which the window opens. */
  days: readonly WeekDay[];
  /** Wall-clock `HH:MM` (24-hour) at which the window opens. */
  from: string;
  /** Wall-clock `HH:MM` at which it closes (exclusive); earlier than `from` means the next day. */
  to: string;
}

/** `HH:MM`, 00:00 to 23:59. */
export const clockTimePattern = /^([01]\d|2[0-3]):[0-5]\d$/;

/** True when `name` is a time zone this runtime's Intl knows. */
export function isTimeZone(name: string): boolean {
  if (name.length === 0) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

// Formatters are costly to build and immutable: one per time zone, kept for the process's life,
// with the last answer, which holds for the whole UTC minute (zone offsets are whole minutes).
const clocks = new Map<
  string,
  { format: Intl.DateTimeFormat; utcMinute: number; day: number; minute: number }
>();
const shortDays: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** The wall clock in `timeZone` at `at` (epoch ms): day of the week (0 = Monday) and minute of the day. */
export function wallClock(at: number, timeZone: string): { day: number; minute: number } {
  const utcMinute = Math.floor(at / 60_000);
  let clock = clocks.get(timeZone);
  if (clock?.utcMinute === utcMinute) return { day: clock.day, minute: clock.minute };
  if (!clock) {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    clock = { format, utcMinute: Number.NaN, day: 0, minute: 0 };
    clocks.set(timeZone, clock);
  }
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of clock.format.formatToParts(at)) {
    if (part.type === 'weekday') day = shortDays[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  clock.utcMinute = utcMinute;
  clock.day = day;
  clock.minute = hour * 60 + minute;
  return { day, minute: clock.minute };
}

function minutes(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/**
 * True when `at` falls within the schedule, judged on the zone's wall clock (so daylight-saving
 * changes move the window with the clocks, as a person expects).
 *
 * - `from` < `to`: from `from` (included) to `to` (excluded) on each listed day.
 * - `from` > `to`: the window crosses midnight: it opens at `from` on a listed day and closes at
 *   `to` the next morning, which belongs to the day the window opened (with `days: ['fri']`,
 *   22:00–06:00 covers Friday 22:00 to Saturday 06:00).
 * - `from` = `to`: 24 hours from `from` on each listed day.
 */
export function isWithinSchedule(schedule: Schedule, at: number): boolean {
  const { day, minute } = wallClock(at, schedule.timeZone);
  const from = minutes(schedule.from);
  const to = minutes(schedule.to);
  const today = schedule.days.includes(weekDays[day]!);
  if (from < to) return today && minute >= from && minute < to;
  const yesterday = schedule.days.includes(weekDays[(day + 6) % 7]!);
  return (today && minute >= from) || (yesterday && minute < to);
}
