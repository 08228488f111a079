/**
 * A string made one piece now, for text that is kept and reused: `a + b` in V8 is a rope (a pair of
 * pieces), and every later reader that needs the characters (a buffer write, a Map key's hash) walks
 * it again. Reading one character makes V8 copy a rope into one piece in place (String::Flatten).
 * Only worth it for text used many times: for text used once it is the copy the reader makes anyway.
 * Measured with the NDJSON encoder's kept texts: ~10% less time for text and bytes (docs/operations.md).
 */
export function flat(s: string): string {
  // Kept by Node 20's V8 (the measured gain shows it); a compiler that dropped the unused read would
  // only lose the speed-up, never change the text.
  s.charCodeAt(0);
  return s;
}
