/**
 * Composable index templates (PUT _index_template/<name>) for the CODEX and ECS layouts, with the
 * mappings derived from FIELDS (src/record/fields.ts), so a field added there is mapped here too.
 *
 * Flat dotted names: CODEX has `tcp.flags` (a number) and `tcp.flags.tags` (names), and the same
 * in ECS. A document holding both cannot be expanded into objects. Elasticsearch (8.3 and later)
 * takes such names as they are with `subobjects: false`, so its documents keep every schema name.
 * OpenSearch has no such setting: there a field whose name is the prefix of another is written as
 * `<name>.value` (`leafRenames` below) and mapped so; docs/outputs.md lists them.
 */
import { FIELDS, type FieldDef, type FieldType } from '../../record/fields.js';
import type { Schema } from './index-name.js';

export type Flavor = 'elasticsearch' | 'opensearch';

const ES_TYPE: Record<FieldType, string> = {
  date: 'date',
  ip: 'ip',
  long: 'long',
  integer: 'integer',
  keyword: 'keyword',
  'keyword[]': 'keyword',
  double: 'double',
  geo_point: 'geo_point',
};

export function fieldName(f: FieldDef, schema: Schema): string {
  return schema === 'ecs' ? (f.ecs ?? f.codex) : f.codex;
}

/** Leaf names that are also object prefixes in this layout, and what OpenSearch documents call them. */
export function leafRenames(schema: Schema): Map<string, string> {
  const names = FIELDS.map((f) => fieldName(f, schema));
  const out = new Map<string, string>();
  for (const a of names) if (names.some((b) => b.startsWith(a + '.'))) out.set(a, `${a}.value`);
  return out;
}

function mappingFor(f: FieldDef, schema: Schema): Record<string, unknown> {
  // Where the ECS view holds another value (network.type "ipv4"/"ipv6", ids as keywords; fields.ts), its type.
  const type = ES_TYPE[schema === 'ecs' && f.ecsValue !== undefined ? f.ecsValue.type : f.type];
  if (type === 'date') {
    // CODEX dates are epoch milliseconds, ECS dates ISO 8601 strings.
    return { type, format: schema === 'ecs' ? 'strict_date_optional_time||epoch_millis' : 'epoch_millis||strict_date_optional_time' };
  }
  return { type };
}

export interface IndexTemplate {
  name: string;
  body: {
    index_patterns: string[];
    priority: number;
    template: { settings: Record<string, unknown>; mappings: Record<string, unknown> };
    _meta: Record<string, unknown>;
  };
}

export function buildTemplate(flavor: Flavor, name: string, pattern: string, schema: Schema): IndexTemplate {
  const renames = flavor === 'opensearch' ? leafRenames(schema) : new Map<string, string>();
  const properties: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const n = fieldName(f, schema);
    properties[renames.get(n) ?? n] = mappingFor(f, schema);
  }
  const mappings: Record<string, unknown> = {
    dynamic: true,
    // A text extra that happens to read as a date (an address metadata value `2024-01-01`) must not
    // make its field a date: the next record's text would then be refused.
    date_detection: false,
    // Information elements without a named field (record `extra`) arrive under raw names; strings
    // among them are identifiers, not prose. Numbers are doubles, as JavaScript holds them: the first
    // value seen fixes a field's type, and a float element sent first as a whole number (a sampling
    // probability of 1) made it `long`, every later fraction truncated (0.01 indexed as 0); a fraction
    // first made it a 32-bit `float`. A double loses nothing the collector sent.
    dynamic_templates: [
      { strings_as_keyword: { match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: 1024 } } },
      { whole_numbers_as_double: { match_mapping_type: 'long', mapping: { type: 'double' } } },
      { fractions_as_double: { match_mapping_type: 'double', mapping: { type: 'double' } } },
    ],
    properties,
  };
  if (flavor === 'elasticsearch') mappings.subobjects = false;
  return {
    name,
    body: {
      index_patterns: [pattern],
      priority: 100,
      template: { settings: { 'index.refresh_interval': '10s' }, mappings },
      _meta: { managed_by: 'ufc', schema },
    },
  };
}
