/**
 * Kept free at the end of an invocation: a function starts no more writes or calls in it, so it
 * finishes what is in flight and reports the rest for the retry instead of timing out. A timeout
 * is a function error, which Lambda answers by splitting the batch.
 */
export const RESERVE_MS = 5_000;

/** True when the invocation has entered its reserve; never without a clock (tests, replays). */
export const outOfTime = (remainingMs: (() => number) | undefined): boolean => remainingMs !== undefined && remainingMs() < RESERVE_MS;
