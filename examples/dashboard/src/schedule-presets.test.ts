import { describe, expect, it } from 'vitest';

import { cronFromPreset, formatTimeOfDay, parseTimeValue, presetFromCron, timeValue, weekdayName, type Preset } from './schedule-presets';

describe('cronFromPreset', () => {
  it.each<[Preset, string]>([
    [{ kind: 'daily', hour: 4, minute: 0 }, '0 4 * * *'],
    [{ kind: 'daily', hour: 23, minute: 59 }, '59 23 * * *'],
    [{ kind: 'hours', every: 1 }, '0 * * * *'],
    [{ kind: 'hours', every: 6 }, '0 */6 * * *'],
    [{ kind: 'weekly', weekday: 1, hour: 3, minute: 30 }, '30 3 * * 1'],
    [{ kind: 'weekly', weekday: 0, hour: 0, minute: 5 }, '5 0 * * 0'],
    [{ kind: 'custom', cron: '  @every 2s ' }, '@every 2s'],
  ])('turns %j into %s', (preset, cron) => {
    expect(cronFromPreset(preset)).toBe(cron);
  });
});

describe('presetFromCron', () => {
  it.each<[string, Preset]>([
    ['0 4 * * *', { kind: 'daily', hour: 4, minute: 0 }],
    ['  30   3 * * *', { kind: 'daily', hour: 3, minute: 30 }],
    ['@daily', { kind: 'daily', hour: 0, minute: 0 }],
    ['@midnight', { kind: 'daily', hour: 0, minute: 0 }],
    ['0 * * * *', { kind: 'hours', every: 1 }],
    ['@hourly', { kind: 'hours', every: 1 }],
    ['0 */12 * * *', { kind: 'hours', every: 12 }],
    ['15 22 * * 5', { kind: 'weekly', weekday: 5, hour: 22, minute: 15 }],
    ['@weekly', { kind: 'weekly', weekday: 0, hour: 0, minute: 0 }],
  ])('reads %s as %j', (cron, preset) => {
    expect(presetFromCron(cron)).toEqual(preset);
  });

  it.each([
    '@every 2s',
    '0 */5 * * *', // not a divisor of 24: the gap across midnight differs
    '0 4 * * 1-5',
    '0 4 1 * *',
    '60 4 * * *',
    '0 24 * * *',
    '0 4 * * 7',
    '00 04 * * *',
    'every day',
    '',
  ])('keeps %j as a custom expression, as it was', (cron) => {
    expect(presetFromCron(cron)).toEqual({ kind: 'custom', cron });
  });

  it('reads back every preset it makes', () => {
    const presets: Preset[] = [
      { kind: 'daily', hour: 0, minute: 0 },
      { kind: 'daily', hour: 13, minute: 7 },
      ...[1, 2, 3, 4, 6, 8, 12].map((every): Preset => ({ kind: 'hours', every })),
      ...[0, 1, 2, 3, 4, 5, 6].map((weekday): Preset => ({ kind: 'weekly', weekday, hour: 18, minute: 45 })),
    ];
    for (const p of presets) expect(presetFromCron(cronFromPreset(p))).toEqual(p);
  });
});

describe('times and days in words', () => {
  it('formats a time of day in the locale, whatever the zone', () => {
    expect(formatTimeOfDay(4, 30, 'en-US')).toMatch(/^4:30\sAM$/);
    expect(formatTimeOfDay(16, 5, 'de-DE')).toBe('16:05');
    expect(formatTimeOfDay(3, 0, 'de-DE')).toBe('03:00');
  });

  it('names cron weekdays in the locale', () => {
    expect(weekdayName(0, 'en-US')).toBe('Sunday');
    expect(weekdayName(1, 'en-US')).toBe('Monday');
    expect(weekdayName(6, 'de-DE')).toBe('Samstag');
  });

  it('reads and writes <input type="time"> values', () => {
    expect(timeValue(4, 5)).toBe('04:05');
    expect(parseTimeValue('04:05')).toEqual({ hour: 4, minute: 5 });
    expect(parseTimeValue('23:59:30')).toEqual({ hour: 23, minute: 59 });
    expect(parseTimeValue('24:00')).toBeNull();
    expect(parseTimeValue('')).toBeNull();
  });
});
