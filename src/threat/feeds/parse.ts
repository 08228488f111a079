/**
 * The parse step of a named feed: its declared format (or the generic sniffer for plain, CSV and
 * auto), names made safe for the ','-joined threat fields, and private space dropped.
 */
import { ListFormatError, parseList, type ParsedList } from '../formats.js';
import type { Slicer } from '../slicer.js';
import { FEED_ADDRESS_KEYS, FEED_NAME_KEYS, FEED_PARSERS, parseFeedFormat, type FeedParserName } from './parsers.js';
import { dropPrivate, PrivateSpace } from './private-space.js';

/** Plain text, CSV and auto go to the generic parser; the rest to parsers.ts. */
export const FEED_FORMATS = ['auto', 'plain', 'csv', ...FEED_PARSERS] as const;
export type FeedFormatName = (typeof FEED_FORMATS)[number];

/** Travels to the build worker as workerData: plain data only. */
export interface FeedParseSpec {
  format?: FeedFormatName;
  /** Drop entries overlapping private and special-purpose space (named feeds: always). */
  dropPrivate?: boolean;
  /** The user's extra private ranges (EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS). */
  extraPrivate?: string[];
}

export async function parseForFeed(body: Buffer, defaultName: string, slicer: Slicer, spec: FeedParseSpec): Promise<ParsedList & { dropped: number; droppedSamples: string[] }> {
  const f = spec.format ?? 'auto';
  // A JSON body or CSV header under plain or auto is read by the feed keys, as under json: AbuseIPDB
  // is asked for plain text and may still answer JSON (`data[].ipAddress`).
  const parsed = (FEED_PARSERS as readonly string[]).includes(f)
    ? await parseFeedFormat(body, defaultName, f as FeedParserName, slicer)
    : await parseList(body, defaultName, slicer, { address: FEED_ADDRESS_KEYS, name: FEED_NAME_KEYS });
  // Several feeds matching one end are joined with ',' in the record: a ',' inside a name would split it.
  const names = parsed.set.names;
  for (let i = 0; i < names.length; i++) if (names[i]!.includes(',')) names[i] = names[i]!.replace(/,\s*/g, ' ');
  if (spec.dropPrivate !== true) return { ...parsed, dropped: 0, droppedSamples: [] };
  const r = dropPrivate(parsed.set, new PrivateSpace(spec.extraPrivate ?? []));
  if (parsed.set.count === 0 && r.dropped > 0) {
    // Said here, because an empty list is otherwise reported as "no usable entry" without the reason.
    throw new ListFormatError(`all ${r.dropped} entries cover private or special-purpose space (e.g. ${r.samples.join(', ')}); nothing to flag`);
  }
  return { ...parsed, dropped: r.dropped, droppedSamples: r.samples };
}
