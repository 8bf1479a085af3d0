import { GRANULARITIES, type Granularity } from "../../catalog/schema";

/** The environment the archive component sets on its transformation function. */
/**
 * The records Firehose buffers for one archiver invocation (its Lambda processor's
 * BufferSizeInMBs): the smallest it takes. A row is several times its record (the raw line plus
 * the reading, base64) and Lambda caps the answer at 6 MB; 0.2 MB of the smallest events a
 * catalog can count (about 40 bytes) answers with about 3.5 MB.
 */
export const PROCESSOR_BUFFER_MB = 0.2;

export const ARCHIVER_ENV = { granularity: "GRANULARITY", stateTable: "STATE_TABLE" } as const;

export interface ArchiverEnv {
  readonly granularity: Granularity;
  /** Where capped dimensions' kept values are: the archive reads them as the analyzer counts them. */
  readonly stateTable: string;
}

/** Reads the archiver's environment once, failing loudly on a bad deploy. */
export function archiverEnv(env: NodeJS.ProcessEnv): ArchiverEnv {
  const granularity = env[ARCHIVER_ENV.granularity] as Granularity;
  if (!GRANULARITIES.includes(granularity)) throw new Error(`${ARCHIVER_ENV.granularity} must be ${GRANULARITIES.join(" or ")}, not "${granularity}"; the archive component sets it`);
  const stateTable = env[ARCHIVER_ENV.stateTable];
  if (!stateTable) throw new Error(`environment variable ${ARCHIVER_ENV.stateTable} is not set; the archive component sets it`);
  return { granularity, stateTable };
}
