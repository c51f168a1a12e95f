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
