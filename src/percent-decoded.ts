/** `s` percent-decoded (`p%40ss` is `p@ss`), or as written when it does not decode (a stray `%`). */
export function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
