// How long ago an event happened, in words of the user's locale.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Formats how long before nowMs an RFC 3339 time was, in the locale: "now"
 * under a minute, then whole minutes, hours, days, weeks, months and years,
 * rounded down ("5 minutes ago", "vor 3 Stunden"). Rounding down means it
 * never says an event is older than it is. A time after nowMs (a server clock
 * a little ahead of the browser's) is "now". Returns null for an unparsable
 * time.
 */
export function formatRelativeTime(iso: string, nowMs: number, locale?: string): string | null {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return null;
  const ago = Math.max(0, nowMs - at);
  if (ago < MINUTE) {
    // numeric 'auto' only here: it turns 0 seconds into "now", but would turn
    // one day into "yesterday", which a count of 24-hour periods is not.
    return new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(0, 'second');
  }
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'always' });
  if (ago < HOUR) return format.format(-Math.floor(ago / MINUTE), 'minute');
  if (ago < DAY) return format.format(-Math.floor(ago / HOUR), 'hour');
  const days = Math.floor(ago / DAY);
  if (days < 7) return format.format(-days, 'day');
  if (days < 30) return format.format(-Math.floor(days / 7), 'week');
  if (days < 365) return format.format(-Math.floor(days / 30), 'month');
  return format.format(-Math.floor(days / 365), 'year');
}
