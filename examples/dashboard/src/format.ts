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
