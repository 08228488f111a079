/**
 * What a store query runs for, carried to the query modules without a parameter on every method
 * (AsyncLocalStorage follows the request's awaits): the HTTP client's cancellation, so a query
 * whose client has gone is not run or is stopped, and whether it is the readiness probe, which must
 * not wait behind the API's queries.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface QueryScope {
  /** Aborted when the client that asked has gone. */
  signal?: AbortSignal;
  /** The readiness probe (/readyz). */
  probe?: boolean;
}

export const queryScope = new AsyncLocalStorage<QueryScope>();
