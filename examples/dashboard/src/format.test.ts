import { describe, expect, it } from 'vitest';

import { formatCount, formatDuration, formatElapsed, formatPercent, formatSize, formatTime, formatTimeInZone } from './format';

describe('formatSize', () => {
  it.each([
    [0, 'en-US', '0 B'],
    [1, 'en-US', '1 B'],
    [1023, 'en-US', '1,023 B'],
    [1024, 'en-US', '1 KiB'],
    [1536, 'en-US', '1.5 KiB'],
    [1536, 'de-DE', '1,5 KiB'],
    [1024 * 1024 - 1, 'en-US', '1 MiB'],
    [5 * 1024 ** 2 + 300 * 1024, 'en-US', '5.3 MiB'],
    [3.25 * 1024 ** 3, 'en-US', '3.3 GiB'],
    [2 * 1024 ** 4, 'en-US', '2 TiB'],
    [5000 * 1024 ** 5, 'en-US', '5,000 PiB'],
  ])('formats %d bytes in %s as %s', (bytes, locale, want) => {
    expect(formatSize(bytes, locale)).toBe(want);
  });

  it.each([null, undefined, -1, Number.NaN, Number.POSITIVE_INFINITY])('returns null for %s', (bytes) => {
    expect(formatSize(bytes)).toBeNull();
  });
});

describe('formatTime', () => {
  it('formats in the locale and time zone', () => {
    expect(formatTime('2026-03-14T09:26:53Z', 'en-US', 'UTC')).toBe('Mar 14, 2026, 9:26 AM');
    expect(formatTime('2026-03-14T09:26:53Z', 'de-DE', 'Europe/Berlin')).toBe('14.03.2026, 10:26');
  });

  it('returns an unparsable time as it came', () => {
    expect(formatTime('not a time', 'en-US')).toBe('not a time');
  });
});

describe('formatPercent', () => {
  it.each([
    [42, 'en-US', '42%'],
    [42, 'de-DE', '42 %'],
    [0, 'en-US', '0%'],
    [100, 'en-US', '100%'],
    [130, 'en-US', '100%'],
    [-5, 'en-US', '0%'],
    [Number.NaN, 'en-US', '0%'],
  ])('formats %d in %s as %s', (percent, locale, want) => {
    expect(formatPercent(percent, locale)).toBe(want.replace(' ', '\u00a0'));
  });
});

describe('formatDuration', () => {
  const s = 1000;
  const min = 60 * s;
  const h = 60 * min;
  it.each([
    [0, 'en-US', '1 sec'],
    [3.2 * s, 'en-US', '3 sec'],
    [9.4 * s, 'de-DE', '9 Sek.'],
    [9.6 * s, 'en-US', '10 sec'],
    [42 * s, 'en-US', '40 sec'],
    [42 * s, 'de-DE', '40 Sek.'],
    [57 * s, 'en-US', '55 sec'],
    [58 * s, 'en-US', '1 min'],
    [95 * s, 'en-US', '2 min'],
    [95 * s, 'de-DE', '2 Min.'],
    [59 * min + 40 * s, 'en-US', '1 hr'],
    [2 * h + 4 * min, 'en-US', '2 hr 5 min'],
    [2 * h + 4 * min, 'de-DE', '2 Std. 5 Min.'],
    [2 * h + 58 * min, 'en-US', '3 hr'],
    [26 * h, 'de-DE', '26 Std.'],
  ])('formats %d ms in %s as %s', (ms, locale, want) => {
    expect(formatDuration(ms, locale)).toBe(want);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('returns null for %s', (ms) => {
    expect(formatDuration(ms)).toBeNull();
  });
});

describe('formatCount', () => {
  it.each([
    [1, 'hour', 'en-US', '1 hour'],
    [6, 'hour', 'en-US', '6 hours'],
    [6, 'hour', 'de-DE', '6 Stunden'],
    [1, 'day', 'de-DE', '1 Tag'],
    [4, 'week', 'en-US', '4 weeks'],
    [12, 'month', 'de-DE', '12 Monate'],
  ] as const)('formats %d %s in %s as %s', (value, unit, locale, want) => {
    expect(formatCount(value, unit, locale)).toBe(want);
  });
});

describe('formatTimeInZone', () => {
  it('formats in the named zone', () => {
    expect(formatTimeInZone('2026-03-14T09:26:53Z', 'de-DE', 'Europe/Berlin')).toBe('14.03.2026, 10:26');
  });

  it("falls back to the user's zone for a zone the browser does not know", () => {
    expect(formatTimeInZone('2026-03-14T09:26:53Z', 'en-US', 'Atlantis/Capital')).toBe(formatTime('2026-03-14T09:26:53Z', 'en-US'));
  });
});

describe('formatElapsed', () => {
  it.each([
    [0, 'en-US', '0 ms'],
    [350, 'en-US', '350 ms'],
    [999.6, 'en-US', '1 s'],
    [1000, 'en-US', '1 s'],
    [1234, 'en-US', '1.2 s'],
    [1234, 'de-DE', '1,2 s'],
    [9960, 'en-US', '10 s'],
    [12_600, 'en-US', '13 s'],
    [59_600, 'en-US', '1 min'],
    [65_000, 'en-US', '1 min 5 s'],
    [125_000, 'de-DE', '2 min 5 s'],
  ])('formats %d ms in %s as %s', (ms, locale, want) => {
    expect(formatElapsed(ms, locale)).toBe(want);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('returns null for %s', (ms) => {
    expect(formatElapsed(ms)).toBeNull();
  });
});
