/**
 * The user's own include/exclude lists for a feed, a small YAML file:
 *
 *   include:               # flagged even when the feed does not list them
 *     - 203.0.113.7
 *     - { ip: 198.51.100.0/24, name: lab-scanner }
 *   exclude:               # never flagged, whatever the feed or include says
 *     - 10.0.0.0/8
 *
 * `include` may also be a mapping of address or CIDR to name. Entries use the same address and
 * name keys as JSON lists. Read with the `yaml` package; a file that fails to parse is an error
 * for the caller to report while it keeps the previous lists.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { EntrySet } from './entries.js';
import { ADDRESS_KEYS, NAME_KEYS } from './formats.js';
import { buildPrefixIndex, PrefixIndex } from './prefix-index.js';
import { ConfigFileError } from '../config/file-error.js';

export interface InclExcl {
  include: PrefixIndex;
  exclude: PrefixIndex;
  /** Entries that did not parse, with a few samples. */
  bad: number;
  badSamples: string[];
}

export function emptyInclExcl(): InclExcl {
  return { include: PrefixIndex.empty(), exclude: PrefixIndex.empty(), bad: 0, badSamples: [] };
}

export class InclExclError extends ConfigFileError {}

/** Parses the YAML text; `defaultName` names include entries that give no name. */
export async function parseInclExcl(text: string, defaultName: string, where = 'include/exclude file'): Promise<InclExcl> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InclExclError(`${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new InclExclError(`${where}: expected a mapping with "include" and/or "exclude" lists`);
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (k !== 'include' && k !== 'exclude') throw new InclExclError(`${where}: unknown key "${k}"; expected "include" and/or "exclude"`);
  }
  const inc = new EntrySet(defaultName);
  const exc = new EntrySet(defaultName);
  addAll(d.include, inc, true);
  addAll(d.exclude, exc, false);
  return {
    include: await buildPrefixIndex(inc),
    exclude: await buildPrefixIndex(exc),
    bad: inc.bad + exc.bad,
    badSamples: [...inc.badSamples, ...exc.badSamples].slice(0, 3),
  };
}

function addAll(v: unknown, set: EntrySet, named: boolean): void {
  if (v === undefined || v === null) return;
  if (Array.isArray(v)) {
    for (const item of v) addItem(item, set, named);
    return;
  }
  if (typeof v === 'object') {
    for (const [addr, name] of Object.entries(v as Record<string, unknown>)) set.add(addr, named && typeof name === 'string' ? name : '');
    return;
  }
  set.reject(String(v));
}

function addItem(item: unknown, set: EntrySet, named: boolean): void {
  if (typeof item === 'string') {
    set.add(item, '');
    return;
  }
  if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
    const o = item as Record<string, unknown>;
    const addr = ADDRESS_KEYS.map((k) => o[k]).find((x) => typeof x === 'string');
    const name = NAME_KEYS.map((k) => o[k]).find((x) => typeof x === 'string');
    if (typeof addr === 'string') {
      set.add(addr, named && typeof name === 'string' ? name : '');
      return;
    }
  }
  set.reject(JSON.stringify(item) ?? String(item));
}

/** Reads the file when it changed since the last read; null when unchanged. */
export class InclExclFile {
  private lastStamp = '';

  constructor(
    readonly path: string,
    readonly defaultName: string,
  ) {}

  async loadIfChanged(): Promise<InclExcl | null> {
    let stamp: string;
    try {
      const st = await stat(this.path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (err) {
      throw new InclExclError(`${this.path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    if (stamp === this.lastStamp) return null;
    const text = await readFile(this.path, 'utf8');
    const res = await parseInclExcl(text, this.defaultName, this.path);
    this.lastStamp = stamp;
    return res;
  }
}
