/**
 * EF_OUTPUT_<output>_DROP_FIELDS: fields an output leaves out of every record it writes, for the
 * space (and the encoding time) of what nobody reads there. An entry is a field's CODEX or ECS name,
 * whichever view the output writes, or a prefix ending in `*` (`flow.src.geo.*`); extras
 * (`ipfix.*`, `sflow.*`) are matched by their own names. @timestamp always stays: indices, the file's
 * readers and the time filters of every tool downstream need it.
 */
import type { FieldDef } from './fields.js';

/** Whether a public name is dropped. */
export type DropMatch = (name: string) => boolean;

/** A name, or a prefix ending in `*`: letters, digits and `_ . @ -` (what our names and extras use). */
const ENTRY = /^[A-Za-z0-9_@][A-Za-z0-9_.@-]*\*?$/;

/** Whether `entry` may be listed (for the option's check): not @timestamp, and not everything at once. */
export function dropEntryAllowed(entry: string): boolean {
  return ENTRY.test(entry) && entry !== '@timestamp';
}

/** Matchers by list object (an output's view holds one list for good), so toDocument may ask per record. */
const matchers = new WeakMap<readonly string[], DropMatch>();

/** The matcher for a list of entries; null when nothing is dropped. */
export function dropMatcher(entries: readonly string[] | undefined): DropMatch | null {
  if (entries === undefined || entries.length === 0) return null;
  let m = matchers.get(entries);
  if (m === undefined) {
    const exact = new Set<string>();
    const prefixes: string[] = [];
    for (const e of entries) {
      if (e.endsWith('*')) prefixes.push(e.slice(0, -1));
      else exact.add(e);
    }
    m = (name) => name !== '@timestamp' && (exact.has(name) || prefixes.some((p) => name.startsWith(p)));
    matchers.set(entries, m);
  }
  return m;
}

/** Whether a schema field is dropped: by its CODEX name or its ECS one. */
export function fieldDropped(def: FieldDef, match: DropMatch): boolean {
  return match(def.codex) || (def.ecs !== null && match(def.ecs));
}
