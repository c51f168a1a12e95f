import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { MAX_NAME_LENGTH } from './backups-content';

// The tests run from examples/dashboard (npm run test).
const openapi = readFileSync(resolve(process.cwd(), '../../openapi.yaml'), 'utf8');

// The dashboard's own copy of a limit the API documents, kept honest: the name
// field's maxLength in openapi.yaml, which the Go code's struct tag generates.
describe('limits the dashboard repeats from the API', () => {
  it('caps the name input at the API\'s maxLength', () => {
    const request = openapi.slice(openapi.indexOf('CreateBackupRequest:'));
    const name = request.slice(request.indexOf('name:'));
    const maxLength = /maxLength: (\d+)/.exec(name);
    expect(maxLength).not.toBeNull();
    expect(Number(maxLength?.[1])).toBe(MAX_NAME_LENGTH);
  });
});
