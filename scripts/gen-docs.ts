// Regenerates the generated docs: docs/configuration.md (and docs/schema.md when its generator exists).
import { writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configurationMarkdown } from '../src/config/docs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'docs', 'configuration.md'), configurationMarkdown());
console.log('wrote docs/configuration.md');
const schemaGen = join(root, 'scripts', 'gen-schema.ts');
if (existsSync(schemaGen)) await import(pathToFileURL(schemaGen).href);
