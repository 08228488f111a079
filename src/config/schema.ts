/** Every EF_* option, in one table: the single source for parsing, `ufc config` and the docs. */
import type { OptionSpec } from './spec.js';
import { CORE_OPTIONS } from './options/core.js';
import { DECODE_OPTIONS } from './options/decode.js';
import { ENRICH_OPTIONS } from './options/enrich.js';
import { RISKIQ_OPTIONS } from './options/riskiq.js';
import { OUTPUT_OPTIONS } from './options/outputs.js';
import { WEB_OPTIONS } from './options/web.js';
import { FEED_OPTIONS } from './options/feeds.js';

export const OPTIONS = {
  ...CORE_OPTIONS,
  ...DECODE_OPTIONS,
  ...ENRICH_OPTIONS,
  ...RISKIQ_OPTIONS,
  ...FEED_OPTIONS,
  ...OUTPUT_OPTIONS,
  ...WEB_OPTIONS,
};

export type OptionName = keyof typeof OPTIONS;
export type Config = { readonly [K in OptionName]: (typeof OPTIONS)[K] extends OptionSpec<infer T> ? T : never };

export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

export function specOf(name: string): OptionSpec | undefined {
  return (OPTIONS as Record<string, OptionSpec>)[name];
}
