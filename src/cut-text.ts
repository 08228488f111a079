/**
 * `text` cut to at most `max` UTF-16 units, never inside a surrogate pair: half of one is written to
 * JSON as a lone `\ud83d`, which DuckDB's JSON functions refuse (a query over it failed whole).
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
