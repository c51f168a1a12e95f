import { describe, expect, it } from 'vitest';

import { formatRelativeTime } from './activity-format';

const now = Date.parse('2026-03-14T12:00:00Z');
const before = (ms: number) => new Date(now - ms).toISOString();
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('formatRelativeTime', () => {
  it.each([
    [0, 'now'],
    [59 * SECOND, 'now'],
    [MINUTE, '1 minute ago'],
    [119 * SECOND, '1 minute ago'],
    [59 * MINUTE + 59 * SECOND, '59 minutes ago'],
    [HOUR, '1 hour ago'],
    [23 * HOUR + 59 * MINUTE, '23 hours ago'],
    [DAY, '1 day ago'],
    [6 * DAY, '6 days ago'],
    [7 * DAY, '1 week ago'],
    [29 * DAY, '4 weeks ago'],
    [30 * DAY, '1 month ago'],
    [364 * DAY, '12 months ago'],
    [365 * DAY, '1 year ago'],
    [3 * 365 * DAY, '3 years ago'],
  ])('says %i ms ago as "%s", never older than it is', (ago, want) => {
    expect(formatRelativeTime(before(ago), now, 'en-US')).toBe(want);
  });

  it('speaks German in German', () => {
    expect(formatRelativeTime(before(10 * SECOND), now, 'de-DE')).toBe('jetzt');
    expect(formatRelativeTime(before(5 * MINUTE), now, 'de-DE')).toBe('vor 5 Minuten');
    expect(formatRelativeTime(before(3 * HOUR), now, 'de-DE')).toBe('vor 3 Stunden');
    expect(formatRelativeTime(before(DAY), now, 'de-DE')).toBe('vor 1 Tag');
  });

  it('says "now" for a time a little after now (a server clock ahead of the browser\'s)', () => {
    expect(formatRelativeTime(new Date(now + 5 * SECOND).toISOString(), now, 'en-US')).toBe('now');
  });

  it('returns null for a time it cannot read', () => {
    expect(formatRelativeTime('yesterday', now, 'en-US')).toBeNull();
  });
});
