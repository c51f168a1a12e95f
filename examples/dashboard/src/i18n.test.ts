import { describe, expect, it } from 'vitest';

import componentSource from './backups-content.tsx?raw';
import { catalogues, createTranslator, errorMessageKey, pickLanguage, type MessageKey } from './i18n';

// The section's core keys, whose names host catalogues rely on.
const coreKeys = [
  'order_detail.section_backups',
  'backups.heading',
  'backups.create_button',
  'backups.column_name',
  'backups.column_size',
  'backups.column_status',
  'backups.column_created',
  'backups.column_actions',
  'backups.action_download',
  'backups.action_restore',
  'backups.action_delete',
  'backups.status_creating',
  'backups.status_ready',
  'backups.status_failed',
  'backups.status_restoring',
  'backups.confirm_delete_title',
  'backups.confirm_restore_title',
  'backups.empty_state',
  'backups.limit_reached',
  'backups.error_in_progress',
];

const languages = Object.keys(catalogues) as (keyof typeof catalogues)[];
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n', () => {
  it('ships English and at least one more language', () => {
    expect(languages).toContain('en');
    expect(languages.length).toBeGreaterThanOrEqual(2);
  });

  for (const key of coreKeys) {
    it(`has the core key ${key} in every language`, () => {
      for (const lang of languages) {
        const text = (catalogues[lang] as Record<string, string>)[key];
        expect(text, `${lang}: ${key}`).toBeTypeOf('string');
        expect(text.trim(), `${lang}: ${key}`).not.toBe('');
      }
    });
  }

  it('has the same keys in every language, none empty, with the same placeholders', () => {
    const english = catalogues.en as Record<string, string>;
    for (const lang of languages) {
      const catalogue = catalogues[lang] as Record<string, string>;
      expect(Object.keys(catalogue).sort(), lang).toEqual(Object.keys(english).sort());
      for (const [key, text] of Object.entries(catalogue)) {
        expect(text.trim(), `${lang}: ${key}`).not.toBe('');
        expect(placeholders(text), `${lang}: ${key}`).toEqual(placeholders(english[key]));
      }
    }
  });

  it('translates German texts differently from English where the words differ', () => {
    const de = createTranslator('de');
    const en = createTranslator('en');
    expect(de('backups.create_button')).not.toBe(en('backups.create_button'));
    expect(de('backups.status_ready')).toBe('Bereit');
  });

  it('uses every core key in the component', () => {
    // The component names every key literally, so a key it stopped using shows up here.
    for (const key of coreKeys) expect(componentSource.includes(`'${key}'`), key).toBe(true);
  });

  it('fills placeholders and leaves unknown ones alone', () => {
    const t = createTranslator('en');
    expect(t('backups.limit_reached', { limit: 10 })).toBe('You have reached the limit of 10 backups. Delete one to create another.');
    expect(t('backups.backup_failed')).toBe('Backup failed: {error}');
  });

  it.each([
    ['de-AT', 'de'],
    ['DE', 'de'],
    ['en-GB', 'en'],
    ['fr-FR', 'en'],
    ['', 'en'],
    [undefined, 'en'],
  ])('picks %s as %s', (tag, want) => {
    expect(pickLanguage(tag)).toBe(want);
  });

  const codes: [Parameters<typeof errorMessageKey>[0], MessageKey][] = [
    ['limit_reached', 'backups.limit_reached'],
    ['operation_in_progress', 'backups.error_in_progress'],
    ['backup_locked', 'backups.error_locked'],
    ['status_conflict', 'backups.error_generic'],
    ['internal', 'backups.error_generic'],
    ['not_found', 'backups.error_generic'],
    [undefined, 'backups.error_generic'],
  ];
  it.each(codes)('maps error code %s to %s', (code, key) => {
    expect(errorMessageKey(code)).toBe(key);
  });
});
