import { describe, expect, it } from 'vitest';

import { formatSize, formatTime } from './format';

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
