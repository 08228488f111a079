/** Abstract data types of information elements (RFC 7012 §3.1), as small integers for switch dispatch. */
export const IeType = {
  U8: 1, U16: 2, U32: 3, U64: 4,
  S8: 5, S16: 6, S32: 7, S64: 8,
  F32: 9, F64: 10, BOOL: 11, MAC: 12, OCT: 13, STR: 14,
  /** dateTimeSeconds (RFC 7011 §6.1.7). */
  SEC: 15,
  /** dateTimeMilliseconds (RFC 7011 §6.1.8). */
  MS: 16,
  /** dateTimeMicroseconds, NTP format (RFC 7011 §6.1.9). */
  US: 17,
  /** dateTimeNanoseconds, NTP format (RFC 7011 §6.1.10). */
  NS: 18,
  IP4: 19, IP6: 20,
  /** basicList / subTemplateList / subTemplateMultiList (RFC 6313): kept as hex. */
  LIST: 21,
  /** No registered type and variable length (not a type of RFC 7012: the decoder's own). */
  UNKNOWN_VARIABLE: 22,
} as const;
export type IeType = (typeof IeType)[keyof typeof IeType];
