import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { MAX_NAME_LENGTH } from './backups-content';
import { DEFAULT_NAME_TEMPLATE, MAX_CRON_LENGTH, MAX_NAME_TEMPLATE_LENGTH, MAX_RETENTION_COUNT, MAX_TIME_ZONE_LENGTH } from './schedule-section';

// The tests run from examples/dashboard (npm run test).
const openapi = readFileSync(resolve(process.cwd(), '../../openapi.yaml'), 'utf8');

// The dashboard's own copies of limits the API documents, kept honest: the
// backup name's and the schedule's maxLength, minimum and maximum in
// openapi.yaml, which the Go code's struct tags generate.
describe('limits the dashboard repeats from the API', () => {
  it('caps the name input at the API\'s maxLength', () => {
    const request = openapi.slice(openapi.indexOf('CreateBackupRequest:'));
    const name = request.slice(request.indexOf('name:'));
    const maxLength = /maxLength: (\d+)/.exec(name);
    expect(maxLength).not.toBeNull();
    expect(Number(maxLength?.[1])).toBe(MAX_NAME_LENGTH);
  });

  // schema returns the text of one schema in openapi.yaml's components.
  const schema = (name: string) => {
    const start = openapi.indexOf(`\n    ${name}:\n`);
    expect(start, name).toBeGreaterThan(0);
    const end = openapi.slice(start + 1).search(/\n    [A-Za-z]+:\n/);
    return openapi.slice(start, end < 0 ? undefined : start + 1 + end);
  };
  const property = (text: string, name: string) => text.slice(text.indexOf(`        ${name}:`)).split(/\n        [a-z_]+:/)[0];
  const limit = (text: string, keyword: string) => Number(new RegExp(`${keyword}: (\\d+)`).exec(text)?.[1]);

  it("caps the schedule form's fields at the API's limits", () => {
    const request = schema('ScheduleRequest');
    expect(limit(property(request, 'cron'), 'maxLength')).toBe(MAX_CRON_LENGTH);
    expect(limit(property(request, 'time_zone'), 'maxLength')).toBe(MAX_TIME_ZONE_LENGTH);
    expect(limit(property(request, 'name_template'), 'maxLength')).toBe(MAX_NAME_TEMPLATE_LENGTH);
    const retention = schema('RetentionRequest');
    for (const rule of ['keep_last', 'keep_daily', 'keep_weekly', 'keep_monthly']) {
      expect(limit(property(retention, rule), 'maximum'), rule).toBe(MAX_RETENTION_COUNT);
      expect(limit(property(retention, rule), 'minimum'), rule).toBe(0);
    }
  });

  it("starts a new schedule with the API's default name template", () => {
    expect(property(schema('ScheduleRequest'), 'name_template')).toContain(`Omit for ${DEFAULT_NAME_TEMPLATE}.`);
  });
});
