// The schedule form's presets and the cron expressions they stand for. Every
// preset is a plain five-field expression the server reads in the schedule's
// time zone; an expression that is none of them is edited as it is.

/** The kinds of schedule the form offers. */
export type PresetKind = 'daily' | 'hours' | 'weekly' | 'custom';

/** A schedule as the form shows it: one preset with its values, or a custom expression. */
export type Preset =
  | { kind: 'daily'; hour: number; minute: number }
  | { kind: 'hours'; every: number }
  | { kind: 'weekly'; weekday: number; hour: number; minute: number }
  | { kind: 'custom'; cron: string };

/**
 * The intervals "every N hours" offers: the divisors of 24, so that the runs
 * are the same distance apart across midnight too (a cron step of 5 hours
 * would run at 20:00 and again at 00:00).
 */
export const HOUR_STEPS = [1, 2, 3, 4, 6, 8, 12] as const;

/** Weekdays as cron numbers them (0 = Sunday), in the order the form lists them: Monday first. */
export const WEEKDAYS = [1, 2, 3, 4, 5, 6, 0] as const;

/** Returns the cron expression a preset stands for; a custom one trimmed. */
export function cronFromPreset(p: Preset): string {
  switch (p.kind) {
    case 'daily':
      return `${p.minute} ${p.hour} * * *`;
    case 'hours':
      return p.every === 1 ? '0 * * * *' : `0 */${p.every} * * *`;
    case 'weekly':
      return `${p.minute} ${p.hour} * * ${p.weekday}`;
    case 'custom':
      return p.cron.trim();
  }
}

const number = '(0|[1-9][0-9]?)';

/**
 * Returns the preset a cron expression is, or a custom preset holding it: the
 * inverse of cronFromPreset, which also reads the descriptors @daily,
 * @midnight, @hourly and @weekly as the presets they equal.
 */
export function presetFromCron(cron: string): Preset {
  const expr = cron.trim().replace(/\s+/g, ' ');
  switch (expr) {
    case '@daily':
    case '@midnight':
      return { kind: 'daily', hour: 0, minute: 0 };
    case '@hourly':
      return { kind: 'hours', every: 1 };
    case '@weekly':
      return { kind: 'weekly', weekday: 0, hour: 0, minute: 0 };
  }
  let m = new RegExp(`^${number} ${number} \\* \\* \\*$`).exec(expr);
  if (m && validTime(m[2], m[1])) return { kind: 'daily', hour: Number(m[2]), minute: Number(m[1]) };
  m = new RegExp(`^${number} ${number} \\* \\* ([0-6])$`).exec(expr);
  if (m && validTime(m[2], m[1])) return { kind: 'weekly', weekday: Number(m[3]), hour: Number(m[2]), minute: Number(m[1]) };
  if (expr === '0 * * * *') return { kind: 'hours', every: 1 };
  m = /^0 \*\/([0-9]+) \* \* \*$/.exec(expr);
  if (m && (HOUR_STEPS as readonly number[]).includes(Number(m[1]))) return { kind: 'hours', every: Number(m[1]) };
  return { kind: 'custom', cron };
}

function validTime(hour: string, minute: string): boolean {
  return Number(hour) <= 23 && Number(minute) <= 59;
}

/** Formats hour:minute as a time of day in the locale: "4:30 AM" (en-US), "04:30" (de). */
export function formatTimeOfDay(hour: number, minute: number, locale?: string): string {
  // A date in UTC, formatted in UTC: the wall-clock time, whatever the zone.
  return new Intl.DateTimeFormat(locale, { timeStyle: 'short', timeZone: 'UTC' }).format(Date.UTC(2024, 0, 1, hour, minute));
}

/** Returns the weekday's name in the locale, for a cron weekday (0 = Sunday). */
export function weekdayName(weekday: number, locale?: string): string {
  // 2024-01-07 was a Sunday.
  return new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone: 'UTC' }).format(Date.UTC(2024, 0, 7 + (weekday % 7)));
}

/** "HH:MM", the value of an <input type="time">, for hour and minute. */
export function timeValue(hour: number, minute: number): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/** Reads an <input type="time"> value ("HH:MM" or "HH:MM:SS"); null when it is not a time. */
export function parseTimeValue(value: string): { hour: number; minute: number } | null {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])(:[0-5][0-9](\.[0-9]+)?)?$/.exec(value);
  return m ? { hour: Number(m[1]), minute: Number(m[2]) } : null;
}
