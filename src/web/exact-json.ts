/**
 * JSON text in which whole numbers of 2^53 or more keep every digit. JSON.stringify writes a double
 * in its shortest form, so a counter held at the int64 bound (9223372036854774784, what DuckDB and
 * ClickHouse hold) comes out as 9223372036854775000, which an exact reader takes as a number 216
 * larger; the flow outputs' encoder (record/json.ts N()) writes such numbers in full, and the API
 * gives the same digits. Node 20 has no JSON.rawJSON, hence the marker.
 */

/** A lone surrogate: escaped by JSON.stringify (well-formed), never part of decoded text, which has none. */
const MARK = '\udfff';
const MARKED = /"\\udfff(-?\d+)\\udfff"/g;
/** Text that may hold a number of 16 or more digits, or one in exponent form: the only ones to look at again. */
const MAYBE_BIG = /\d{16}|\de\+/;

function marked(_key: string, v: unknown): unknown {
  return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 2 ** 53 ? MARK + BigInt(v).toString() + MARK : v;
}

export function exactJson(value: unknown): string {
  const text = JSON.stringify(value);
  // Most answers hold no such number: one scan of the text, and the replacer only where one may be.
  if (!MAYBE_BIG.test(text)) return text;
  return JSON.stringify(value, marked).replace(MARKED, '$1');
}
