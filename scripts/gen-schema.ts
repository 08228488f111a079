/**
 * Writes docs/schema.md from the record definition (src/record/schema-doc.ts). Run by
 * `npm run docs` (scripts/gen-docs.ts imports it) or alone:
 *   node --import tsx scripts/gen-schema.ts
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaMarkdown } from '../src/record/schema-doc.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'docs', 'schema.md'), schemaMarkdown());
console.log('wrote docs/schema.md');
