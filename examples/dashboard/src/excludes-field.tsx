// Exclude patterns: the field the create form and the schedule form share,
// and how a list of patterns is read from it and shown back.
import { useId } from 'react';

import { ApiError } from './client';
import type { Translate } from './i18n';

/** How many patterns a summary names before it only counts the rest. */
export const SHOWN_EXCLUDES = 5;

// A pattern may be 256 characters long: a summary shortens each, so that one
// long pattern does not push the table apart.
const SHOWN_PATTERN_LENGTH = 40;

/** Returns the patterns of the field's text: one a line, trimmed, blank lines left out. */
export function parseExcludes(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Returns the field's text for a list of patterns. */
export function excludesText(patterns: readonly string[] | null | undefined): string {
  return (patterns ?? []).join('\n');
}

/** A list of patterns shortened for a summary: the first few, each cut to a readable length, and how many more there are. */
export interface ExcludesSummary {
  shown: string;
  more: number;
}

/** Shortens a list of patterns for a summary line; the full list is for a tooltip or the form. */
export function summarizeExcludes(patterns: readonly string[]): ExcludesSummary {
  const shown = patterns
    .slice(0, SHOWN_EXCLUDES)
    .map((p) => (p.length > SHOWN_PATTERN_LENGTH ? `${p.slice(0, SHOWN_PATTERN_LENGTH - 1)}…` : p))
    .join(', ');
  return { shown, more: Math.max(0, patterns.length - SHOWN_EXCLUDES) };
}

/**
 * Returns the server's words for patterns it refused (invalid_excludes): its
 * detail names the limit and the pattern, which the customer needs to fix
 * them. Null for any other error.
 */
export function invalidExcludesText(err: unknown, t: Translate): string | null {
  if (!(err instanceof ApiError) || err.code !== 'invalid_excludes' || !err.problem) return null;
  // "invalid excludes: too many …": the lead-in already says they were not accepted.
  let detail = err.problem.detail.replace(/^invalid exclude(s| patterns)?:\s*/i, '');
  const fields = (err.problem.errors ?? []).map((e) => [e.location, e.message].filter(Boolean).join(': ')).filter(Boolean);
  if (fields.length > 0) detail = `${detail} (${fields.join('; ')})`;
  return t('backups.excludes_invalid', { detail });
}

/** Props of ExcludesField. */
export interface ExcludesFieldProps {
  /** The text as typed: one pattern a line. */
  value: string;
  onChange: (value: string) => void;
  /** Why the server refused the patterns; shown under the field, which it describes. */
  error: string | null;
  t: Translate;
  /** Extra class names for the field's wrapper. */
  className?: string;
}

/** A labelled textarea for exclude patterns, with a hint on their syntax and the server's refusal under it. */
export function ExcludesField({ value, onChange, error, t, className }: ExcludesFieldProps) {
  const id = useId();
  const hintId = useId();
  const errorId = useId();
  return (
    <div className={['field', 'field--wide', 'excludes', className].filter(Boolean).join(' ')}>
      <label htmlFor={id}>{t('backups.excludes_label')}</label>
      <textarea
        id={id}
        name="excludes"
        rows={3}
        spellCheck={false}
        autoComplete="off"
        autoCapitalize="off"
        className="excludes__input"
        placeholder={'logs/\n*.tmp'}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${hintId} ${errorId}` : hintId}
      />
      <p id={hintId} className="excludes__hint">
        {t('backups.excludes_hint')}
      </p>
      {error ? (
        <p id={errorId} role="alert" className="notice notice--error" data-testid="excludes-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
