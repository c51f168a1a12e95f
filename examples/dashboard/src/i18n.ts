// Messages for the backups section, in English and German. The section's core
// keys, which host catalogues are expected to carry under these exact names,
// come first; the rest are the extra strings the component needs. A host with its own i18n passes its own t and adds these keys to its
// catalogues; the German catalogue's type makes a missing key a compile error.
import type { ProblemCode } from './client';

const en = {
  // The core keys.
  'order_detail.section_backups': 'Backups',
  'backups.heading': 'Server backups',
  'backups.create_button': 'Create Backup',
  'backups.column_name': 'Name',
  'backups.column_size': 'Size',
  'backups.column_status': 'Status',
  'backups.column_created': 'Created',
  'backups.column_actions': 'Actions',
  'backups.action_download': 'Download',
  'backups.action_restore': 'Restore',
  'backups.action_delete': 'Delete',
  'backups.status_creating': 'Creating',
  'backups.status_ready': 'Ready',
  'backups.status_failed': 'Failed',
  'backups.status_restoring': 'Restoring',
  'backups.confirm_delete_title': 'Delete this backup?',
  'backups.confirm_restore_title': 'Restore this backup?',
  'backups.empty_state': 'No backups yet. Create one to keep a copy of your server’s files.',
  'backups.limit_reached': 'You have reached the limit of {limit} backups. Delete one to create another.',
  'backups.error_in_progress': 'A backup or restore is in progress. Wait for it to finish.',
  // Extra keys.
  'backups.create_dialog_title': 'Create a backup',
  'backups.name_label': 'Name (optional)',
  'backups.name_hint': 'Leave empty to name it after the current date and time.',
  'backups.create_submit': 'Create',
  'backups.cancel': 'Cancel',
  'backups.confirm_delete_body': '“{name}” and its archive will be deleted permanently.',
  'backups.confirm_restore_body': 'Your server’s current files will be replaced by the files in “{name}”.',
  'backups.action_label': '{action} {name}',
  'backups.backup_failed': 'Backup failed: {error}',
  'backups.restore_failed': 'Last restore failed: {error}',
  'backups.size_unknown': '—',
  'backups.loading': 'Loading backups…',
  'backups.error_generic': 'Something went wrong. Please try again.',
  'backups.error_load': 'The backups could not be loaded. Please reload the page.',
  'backups.dismiss': 'Dismiss',
  'backups.count': '{count} of {limit} backups',
  'backups.status_changed': '{name}: {status}.',
  'backups.skipped_one': '1 file skipped',
  'backups.skipped_many': '{count} files skipped',
  'backups.skipped_more': '…and {count} more',
  'backups.skipped_entry': '{path}: {reason}',
  'backups.error_reprovisioning': 'Your server is being reinstalled. Try again when it is back.',
  'backups.progress_label': 'Progress of {name}',
  'backups.progress_remaining': '{percent} — about {duration} left',
  'backups.progress_so_far': '{size} so far',
  'backups.action_lock': 'Lock',
  'backups.action_unlock': 'Unlock',
  'backups.locked': 'Locked',
  'backups.delete_locked_hint': 'Locked backups cannot be deleted. Unlock it first.',
  'backups.error_locked': 'This backup is locked. Unlock it to delete it.',
  'backups.scheduled': 'Scheduled',
  'backups.warning': 'Warning: {warning}',
  'backups.quiesce_paused': 'Game paused for {duration}',
  'backups.excluded': 'Excluded: {patterns}',
  'backups.excluded_more': 'Excluded: {patterns} and {count} more',
  'backups.excludes_label': 'Exclude paths (optional)',
  'backups.excludes_hint': 'One pattern per line, as in .gitignore: logs/ leaves out a folder, *.tmp every file ending in .tmp. The .savepointignore file in your server’s folder applies too.',
  'backups.excludes_invalid': 'These patterns were not accepted: {detail}',
  // The schedule section.
  'schedule.heading': 'Backup schedule',
  'schedule.loading': 'Loading the schedule…',
  'schedule.error_load': 'The schedule could not be loaded.',
  'schedule.retry': 'Try again',
  'schedule.unavailable': 'Scheduled backups are not offered for this server. You can still create backups yourself.',
  'schedule.none': 'No schedule',
  'schedule.none_hint': 'Backups are made only when you create one. A schedule makes them for you, and can delete old ones.',
  'schedule.add': 'Add schedule',
  'schedule.edit': 'Edit schedule',
  'schedule.pause': 'Pause',
  'schedule.resume': 'Resume',
  'schedule.delete': 'Delete schedule',
  'schedule.state_active': 'Active',
  'schedule.state_paused': 'Paused',
  'schedule.when': 'Runs',
  'schedule.next_run': 'Next backup',
  'schedule.next_run_at': '{time} ({zone})',
  'schedule.next_run_paused': 'None while the schedule is paused.',
  'schedule.next_run_never': 'None: the expression has no more dates.',
  'schedule.last_run': 'Last run',
  'schedule.last_run_none': 'Not run yet.',
  'schedule.last_run_made': 'made “{name}”',
  'schedule.last_run_reason': 'Reason: {reason}',
  'schedule.outcome_started': 'Started',
  'schedule.outcome_skipped': 'Skipped',
  'schedule.outcome_failed': 'Failed',
  'schedule.retention': 'Keeps',
  'schedule.retention_all': 'Every backup, until the backup limit makes room by deleting the oldest.',
  'schedule.retention_last': 'the last {count}',
  'schedule.retention_daily': 'one a day for {days}',
  'schedule.retention_weekly': 'one a week for {weeks}',
  'schedule.retention_monthly': 'one a month for {months}',
  'schedule.names': 'Names',
  'schedule.excludes': 'Leaves out',
  'schedule.excludes_more': '{patterns} and {count} more',
  'schedule.describe_daily': 'Daily at {time}',
  'schedule.describe_hourly': 'Every hour',
  'schedule.describe_every_hours': 'Every {hours}',
  'schedule.describe_weekly': 'Every {day} at {time}',
  'schedule.describe_custom': 'Custom: {cron}',
  'schedule.form_add': 'Add a backup schedule',
  'schedule.form_edit': 'Edit the backup schedule',
  'schedule.repeat_label': 'Repeat',
  'schedule.preset_daily': 'Daily at a time',
  'schedule.preset_hours': 'Every few hours',
  'schedule.preset_weekly': 'Weekly on a day at a time',
  'schedule.preset_custom': 'Custom expression',
  'schedule.time_label': 'Time',
  'schedule.weekday_label': 'Day',
  'schedule.hours_label': 'Every',
  'schedule.custom_label': 'Cron expression',
  'schedule.custom_hint': 'Five fields (minute, hour, day of month, month, day of week) such as 30 3 * * 1-5, or a descriptor such as @daily or @every 6h.',
  'schedule.cron_preview': 'As a cron expression: {cron}',
  'schedule.time_zone_label': 'Time zone',
  'schedule.time_zone_hint': 'The times of the schedule are in this zone, such as Europe/Berlin.',
  'schedule.name_template_label': 'Backup names',
  'schedule.name_template_hint': '{date} and {time} become the date and time of the run, in the schedule’s time zone.',
  'schedule.retention_legend': 'Which backups to keep',
  'schedule.retention_hint': 'Each run deletes the schedule’s backups that no rule keeps. Keep last keeps the newest backups; daily, weekly and monthly keep the newest backup of each of that many days, weeks or months. 0 turns a rule off; with every rule off, backups are kept until the backup limit, when the oldest makes room. Locked backups are never deleted.',
  'schedule.keep_last': 'Keep last',
  'schedule.keep_daily': 'Keep daily',
  'schedule.keep_weekly': 'Keep weekly',
  'schedule.keep_monthly': 'Keep monthly',
  'schedule.enabled_label': 'Active',
  'schedule.enabled_hint': 'Clear this to pause the schedule without losing its settings.',
  'schedule.save': 'Save schedule',
  'schedule.saved': 'Schedule saved.',
  'schedule.deleted': 'Schedule deleted.',
  'schedule.confirm_delete_title': 'Delete the backup schedule?',
  'schedule.confirm_delete_body': 'No more backups will be made on it. The backups it made stay.',
  'schedule.error_invalid': 'The schedule was not saved: {detail}',
} as const;

/** A message key. */
export type MessageKey = keyof typeof en;

/** A full catalogue: every key, with its text. */
export type Catalogue = Record<MessageKey, string>;

const de: Catalogue = {
  'order_detail.section_backups': 'Backups',
  'backups.heading': 'Server-Backups',
  'backups.create_button': 'Backup erstellen',
  'backups.column_name': 'Name',
  'backups.column_size': 'Größe',
  'backups.column_status': 'Status',
  'backups.column_created': 'Erstellt',
  'backups.column_actions': 'Aktionen',
  'backups.action_download': 'Herunterladen',
  'backups.action_restore': 'Wiederherstellen',
  'backups.action_delete': 'Löschen',
  'backups.status_creating': 'Wird erstellt',
  'backups.status_ready': 'Bereit',
  'backups.status_failed': 'Fehlgeschlagen',
  'backups.status_restoring': 'Wird wiederhergestellt',
  'backups.confirm_delete_title': 'Dieses Backup löschen?',
  'backups.confirm_restore_title': 'Dieses Backup wiederherstellen?',
  'backups.empty_state': 'Noch keine Backups. Erstelle eines, um eine Kopie der Serverdateien zu behalten.',
  'backups.limit_reached': 'Du hast das Limit von {limit} Backups erreicht. Lösche eines, um ein neues zu erstellen.',
  'backups.error_in_progress': 'Ein Backup oder eine Wiederherstellung läuft gerade. Bitte warte, bis sie abgeschlossen ist.',
  'backups.create_dialog_title': 'Backup erstellen',
  'backups.name_label': 'Name (optional)',
  'backups.name_hint': 'Leer lassen, um es nach dem aktuellen Datum und der Uhrzeit zu benennen.',
  'backups.create_submit': 'Erstellen',
  'backups.cancel': 'Abbrechen',
  'backups.confirm_delete_body': '„{name}“ und sein Archiv werden endgültig gelöscht.',
  'backups.confirm_restore_body': 'Die aktuellen Dateien deines Servers werden durch die Dateien in „{name}“ ersetzt.',
  'backups.action_label': '{name}: {action}',
  'backups.backup_failed': 'Backup fehlgeschlagen: {error}',
  'backups.restore_failed': 'Letzte Wiederherstellung fehlgeschlagen: {error}',
  'backups.size_unknown': '—',
  'backups.loading': 'Backups werden geladen…',
  'backups.error_generic': 'Etwas ist schiefgelaufen. Bitte versuche es erneut.',
  'backups.error_load': 'Die Backups konnten nicht geladen werden. Bitte lade die Seite neu.',
  'backups.dismiss': 'Schließen',
  'backups.count': '{count} von {limit} Backups',
  'backups.status_changed': '{name}: {status}.',
  'backups.skipped_one': '1 Datei übersprungen',
  'backups.skipped_many': '{count} Dateien übersprungen',
  'backups.skipped_more': '…und {count} weitere',
  'backups.skipped_entry': '{path}: {reason}',
  'backups.error_reprovisioning': 'Dein Server wird gerade neu installiert. Versuche es erneut, wenn er wieder läuft.',
  'backups.progress_label': 'Fortschritt von {name}',
  'backups.progress_remaining': '{percent} – noch etwa {duration}',
  'backups.progress_so_far': 'bisher {size}',
  'backups.action_lock': 'Sperren',
  'backups.action_unlock': 'Entsperren',
  'backups.locked': 'Gesperrt',
  'backups.delete_locked_hint': 'Gesperrte Backups können nicht gelöscht werden. Entsperre es zuerst.',
  'backups.error_locked': 'Dieses Backup ist gesperrt. Entsperre es, um es zu löschen.',
  'backups.scheduled': 'Geplant',
  'backups.warning': 'Warnung: {warning}',
  'backups.quiesce_paused': 'Spiel pausiert für {duration}',
  'backups.excluded': 'Ausgenommen: {patterns}',
  'backups.excluded_more': 'Ausgenommen: {patterns} und {count} weitere',
  'backups.excludes_label': 'Ausgenommene Pfade (optional)',
  'backups.excludes_hint': 'Ein Muster pro Zeile, wie in .gitignore: logs/ nimmt einen Ordner aus, *.tmp jede Datei, die auf .tmp endet. Die Datei .savepointignore im Ordner deines Servers gilt zusätzlich.',
  'backups.excludes_invalid': 'Diese Muster wurden nicht angenommen: {detail}',
  'schedule.heading': 'Backup-Zeitplan',
  'schedule.loading': 'Zeitplan wird geladen…',
  'schedule.error_load': 'Der Zeitplan konnte nicht geladen werden.',
  'schedule.retry': 'Erneut versuchen',
  'schedule.unavailable': 'Geplante Backups gibt es für diesen Server nicht. Du kannst Backups weiterhin selbst erstellen.',
  'schedule.none': 'Kein Zeitplan',
  'schedule.none_hint': 'Backups entstehen nur, wenn du eines erstellst. Ein Zeitplan erstellt sie für dich und kann alte löschen.',
  'schedule.add': 'Zeitplan anlegen',
  'schedule.edit': 'Zeitplan bearbeiten',
  'schedule.pause': 'Pausieren',
  'schedule.resume': 'Fortsetzen',
  'schedule.delete': 'Zeitplan löschen',
  'schedule.state_active': 'Aktiv',
  'schedule.state_paused': 'Pausiert',
  'schedule.when': 'Läuft',
  'schedule.next_run': 'Nächstes Backup',
  'schedule.next_run_at': '{time} ({zone})',
  'schedule.next_run_paused': 'Keines, solange der Zeitplan pausiert ist.',
  'schedule.next_run_never': 'Keines: Der Ausdruck hat keine weiteren Termine.',
  'schedule.last_run': 'Letzter Lauf',
  'schedule.last_run_none': 'Noch nicht gelaufen.',
  'schedule.last_run_made': 'hat „{name}“ erstellt',
  'schedule.last_run_reason': 'Grund: {reason}',
  'schedule.outcome_started': 'Gestartet',
  'schedule.outcome_skipped': 'Übersprungen',
  'schedule.outcome_failed': 'Fehlgeschlagen',
  'schedule.retention': 'Behält',
  'schedule.retention_all': 'Jedes Backup, bis das Backup-Limit Platz schafft, indem es das älteste löscht.',
  'schedule.retention_last': 'die letzten {count}',
  'schedule.retention_daily': 'eines pro Tag für {days}',
  'schedule.retention_weekly': 'eines pro Woche für {weeks}',
  'schedule.retention_monthly': 'eines pro Monat für {months}',
  'schedule.names': 'Namen',
  'schedule.excludes': 'Nimmt aus',
  'schedule.excludes_more': '{patterns} und {count} weitere',
  'schedule.describe_daily': 'Täglich um {time}',
  'schedule.describe_hourly': 'Stündlich',
  'schedule.describe_every_hours': 'Alle {hours}',
  'schedule.describe_weekly': 'Jeden {day} um {time}',
  'schedule.describe_custom': 'Eigener Ausdruck: {cron}',
  'schedule.form_add': 'Backup-Zeitplan anlegen',
  'schedule.form_edit': 'Backup-Zeitplan bearbeiten',
  'schedule.repeat_label': 'Wiederholen',
  'schedule.preset_daily': 'Täglich zu einer Uhrzeit',
  'schedule.preset_hours': 'Alle paar Stunden',
  'schedule.preset_weekly': 'Wöchentlich an einem Tag zu einer Uhrzeit',
  'schedule.preset_custom': 'Eigener Ausdruck',
  'schedule.time_label': 'Uhrzeit',
  'schedule.weekday_label': 'Tag',
  'schedule.hours_label': 'Alle',
  'schedule.custom_label': 'Cron-Ausdruck',
  'schedule.custom_hint': 'Fünf Felder (Minute, Stunde, Tag im Monat, Monat, Wochentag) wie 30 3 * * 1-5, oder eine Kurzform wie @daily oder @every 6h.',
  'schedule.cron_preview': 'Als Cron-Ausdruck: {cron}',
  'schedule.time_zone_label': 'Zeitzone',
  'schedule.time_zone_hint': 'Die Zeiten des Zeitplans gelten in dieser Zone, etwa Europe/Berlin.',
  'schedule.name_template_label': 'Backup-Namen',
  'schedule.name_template_hint': '{date} und {time} werden zu Datum und Uhrzeit des Laufs, in der Zeitzone des Zeitplans.',
  'schedule.retention_legend': 'Welche Backups behalten werden',
  'schedule.retention_hint': 'Jeder Lauf löscht die Backups des Zeitplans, die keine Regel behält. „Letzte behalten“ behält die neuesten Backups; täglich, wöchentlich und monatlich behalten das neueste Backup jedes dieser Tage, Wochen oder Monate. 0 schaltet eine Regel ab; sind alle Regeln aus, bleiben Backups bis zum Backup-Limit erhalten, dann macht das älteste Platz. Gesperrte Backups werden nie gelöscht.',
  'schedule.keep_last': 'Letzte behalten',
  'schedule.keep_daily': 'Täglich behalten',
  'schedule.keep_weekly': 'Wöchentlich behalten',
  'schedule.keep_monthly': 'Monatlich behalten',
  'schedule.enabled_label': 'Aktiv',
  'schedule.enabled_hint': 'Abwählen, um den Zeitplan zu pausieren, ohne seine Einstellungen zu verlieren.',
  'schedule.save': 'Zeitplan speichern',
  'schedule.saved': 'Zeitplan gespeichert.',
  'schedule.deleted': 'Zeitplan gelöscht.',
  'schedule.confirm_delete_title': 'Backup-Zeitplan löschen?',
  'schedule.confirm_delete_body': 'Nach ihm werden keine Backups mehr erstellt. Die Backups, die er erstellt hat, bleiben.',
  'schedule.error_invalid': 'Der Zeitplan wurde nicht gespeichert: {detail}',
};

/** The languages this package ships. */
export const catalogues = { en, de } satisfies Record<string, Catalogue>;

/** A shipped language. */
export type Language = keyof typeof catalogues;

/** Values substituted for {placeholders} in a message. */
export type MessageVars = Record<string, string | number>;

/**
 * Translates a key. The component calls it for every string it shows, so a
 * host can pass its own (e.g. a wrapper around i18next's t).
 */
export type Translate = (key: MessageKey, vars?: MessageVars) => string;

/** Returns the shipped language closest to a BCP 47 tag such as "de-AT", or English. */
export function pickLanguage(tag: string | undefined | null): Language {
  const primary = (tag ?? '').toLowerCase().split(/[-_]/)[0];
  return primary in catalogues ? (primary as Language) : 'en';
}

/** Returns a Translate for a shipped language; unknown placeholders are left as they are. */
export function createTranslator(language: Language = 'en'): Translate {
  const catalogue: Catalogue = catalogues[language];
  return (key, vars) => {
    const text = catalogue[key] ?? en[key] ?? key;
    if (!vars) return text;
    return text.replace(/\{(\w+)\}/g, (match, name: string) =>
      Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : match,
    );
  };
}

/**
 * Returns the message key for an API error code: the conflicts a customer
 * can act on get their own message, everything else a generic one (the
 * problem's detail is written for operators, in English, so it is not shown).
 */
export function errorMessageKey(code: ProblemCode | undefined): MessageKey {
  switch (code) {
    case 'limit_reached':
      return 'backups.limit_reached';
    case 'operation_in_progress':
      return 'backups.error_in_progress';
    case 'reprovisioning':
      return 'backups.error_reprovisioning';
    case 'backup_locked':
      return 'backups.error_locked';
    default:
      return 'backups.error_generic';
  }
}
