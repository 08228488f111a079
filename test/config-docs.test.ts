import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationMarkdown } from '../src/config/docs.js';
import { OPTION_NAMES } from '../src/config/schema.js';
import { REPO_ROOT } from './helpers/tools.js';

test('docs/configuration.md is generated from the option table and current (run `npm run docs`)', () => {
  const onDisk = readFileSync(join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
  assert.equal(onDisk, configurationMarkdown(), 'docs/configuration.md is stale: run `npm run docs`');
  for (const name of OPTION_NAMES) assert.ok(onDisk.includes(`\`${name}\``), `${name} documented`);
});
