import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOP_FIELDS } from '../src/store/query.js';
import { REPO_ROOT } from './helpers/tools.js';

test('docs/api.md lists exactly the fields /api/top accepts', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'api.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## `GET /api/top`'), doc.indexOf('```json', doc.indexOf('## `GET /api/top`')));
  const listed = section.slice(section.indexOf('`field` is one of') + '`field`'.length).match(/`[a-z0-9_.]+`/g)!.map((s) => s.slice(1, -1));
  assert.deepEqual(listed, [...TOP_FIELDS]);
});
