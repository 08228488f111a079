/**
 * How long a stopping output keeps trying to deliver what it holds. Past it, what is still queued
 * is counted as dropped and logged, and the stop goes on: a target that stays down (a full disk, a
 * database that refuses every write, an outage without a spill) must not keep the process from
 * exiting until a supervisor kills it, which would lose the same records without a word.
 */
export const CLOSE_FLUSH_MS = 10_000;

/**
 * After CLOSE_FLUSH_MS, how long a stop still waits for a send already under way (a server that
 * accepted the connection and stays silent is only given up by the client's own timeout: 30 s for
 * ClickHouse, three tries of 30 s for Kafka). Past it, that send's records are counted as dropped.
 */
export const CLOSE_SEND_MS = 3_000;

/** How long an output's start waits for its server before going on (records queue and retry). */
export const START_WAIT_MS = 5_000;
