/**
 * What the database enrichers know about one address, in one cache shared by GeoIP and ASN: the
 * second enricher of a batch then finds its entries on cache lines the first has just read,
 * instead of walking a table of its own (with many distinct addresses, those memory reads are
 * most of a lookup's cost).
 */
import { AddressCache } from './lookup-cache.js';

export interface AddressFacts {
  /** GeoIP answer, null until the GeoIP enricher asks. */
  geo: unknown;
  /** ASN answer, null until the ASN enricher asks. */
  asn: unknown;
}

export type FactsCache = AddressCache<AddressFacts>;

export function createFactsCache(): FactsCache {
  return new AddressCache<AddressFacts>(() => ({ geo: null, asn: null }));
}
