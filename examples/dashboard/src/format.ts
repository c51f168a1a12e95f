// Formatting of sizes and times for people, in their locale.

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * Formats a byte count with binary units (1 KiB = 1024 B), one decimal at most
 * and the locale's digits, e.g. 1536 → "1.5 KiB" (en) or "1,5 KiB" (de).
 * Returns null for a missing or invalid size so the caller can show a dash.
 */
export function formatSize(bytes: number | null | undefined, locale?: string): string | null {
  if (bytes == null || !Number.isFinite(bytes) || bytes < 0) return null;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  // Rounding 1023.96 KiB to one decimal would print "1,024 KiB": move up a unit.
  if (unit < units.length - 1 && Math.round(value * 10) / 10 >= 1024) {
    value /= 1024;
    unit++;
  }
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value);
  return `${number} ${units[unit]}`;
}

/** Formats an RFC 3339 time as a date and time in the locale and the user's time zone. */
export function formatTime(iso: string, locale?: string, timeZone?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(date);
}

/**
 * Formats a whole percentage (0–100) in the locale: 42 → "42%" (en), "42 %" (de).
 * Values outside 0–100 are clamped.
 */
export function formatPercent(percent: number, locale?: string): string {
  const clamped = Math.min(Math.max(Number.isFinite(percent) ? percent : 0, 0), 100);
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(clamped / 100);
}

function unit(value: number, unit: 'second' | 'minute' | 'hour', locale?: string): string {
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'short' }).format(value);
}

/**
 * Formats a time left, rounded as estimates should be, in the locale's short
 * units: 3.2 s → "3 sec", 42 s → "40 sec", 95 s → "2 min", 2 h 4 min →
 * "2 hr 5 min" ("40 Sek.", "2 Min.", "2 Std. 5 Min." in German). The
 * precision an estimate cannot have would only make it flicker from poll to
 * poll. Returns
 * null for a negative or invalid duration.
 */
export function formatDuration(ms: number, locale?: string): string | null {
  if (!Number.isFinite(ms) || ms < 0) return null;
  const seconds = ms / 1000;
  if (seconds < 9.5) return unit(Math.max(1, Math.round(seconds)), 'second', locale);
  if (seconds < 57.5) return unit(Math.round(seconds / 5) * 5, 'second', locale);
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) return unit(minutes, 'minute', locale);
  let hours = Math.floor(seconds / 3600);
  let rest = Math.round((seconds - hours * 3600) / 300) * 5;
  if (rest === 60) {
    hours++;
    rest = 0;
  }
  return rest === 0 ? unit(hours, 'hour', locale) : `${unit(hours, 'hour', locale)} ${unit(rest, 'minute', locale)}`;
}

/**
 * Formats a short measured duration, such as how long the game was paused,
 * as exactly as a person can use it, with SI symbols that read the same in
 * every language: 350 → "350 ms", 1234 → "1.2 s" ("1,2 s" in German), 12.6 s
 * → "13 s", 65 s → "1 min 5 s". Unlike formatDuration, which rounds an
 * estimate, it keeps the tenth of a second that tells a quick pause from a
 * slow one. Returns null for a negative or invalid duration.
 */
export function formatElapsed(ms: number, locale?: string): string | null {
  if (!Number.isFinite(ms) || ms < 0) return null;
  const number = (value: number, fraction = 0) => new Intl.NumberFormat(locale, { maximumFractionDigits: fraction }).format(value);
  if (Math.round(ms) < 1000) return `${number(Math.round(ms))} ms`;
  // Rounded first, so that 9.96 s is "10 s" and not "10.0 s" or "1 min 0 s".
  const tenths = Math.round(ms / 100) / 10;
  if (tenths < 10) return `${number(tenths, 1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${number(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest === 0 ? `${number(minutes)} min` : `${number(minutes)} min ${number(rest)} s`;
}

/**
 * Formats a count of calendar units in words, in the locale: (6, 'hour') →
 * "6 hours" (en), "6 Stunden" (de); (1, 'day') → "1 day".
 */
export function formatCount(value: number, unit: 'hour' | 'day' | 'week' | 'month', locale?: string): string {
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
}

/**
 * Formats an RFC 3339 time like formatTime, in the named IANA zone; a zone the
 * browser does not know falls back to the user's own.
 */
export function formatTimeInZone(iso: string, locale: string | undefined, timeZone: string): string {
  try {
    return formatTime(iso, locale, timeZone);
  } catch {
    return formatTime(iso, locale);
  }
}
