import type { FirehoseTransformationEvent, FirehoseTransformationHandler, FirehoseTransformationResultRecord } from "aws-lambda";
import { type ArchiveColumn } from "../../catalog/archive";
import type { AnalyzerRules } from "../../catalog/rules";
import type { BatchRecord } from "../analyzer/aggregate";
import { decodeRecord, type Decoded, memoryGate } from "../analyzer/decode";
import type { RegistryGate } from "../analyzer/registry";
import { type Logger, withFields } from "../shared/log";
import { archiveRow } from "./rows";

export interface ArchiverDeps {
  readonly rules: AnalyzerRules;
  /** The archive table's columns (`archiveColumns(catalog)`). */
  readonly columns: readonly ArchiveColumn[];
  /** Capped dimensions' kept values, the analyzer's own registry. @default one process's own view */
  readonly gate?: RegistryGate;
  readonly log: Logger;
}

/** A Firehose record read from a Kinesis stream, as the archiver needs it. */
export interface SourceRecord extends BatchRecord {
  readonly recordId: string;
}

/**
 * The Firehose event's records. With a Kinesis stream as the source each carries the stream's
 * metadata; the arrival is Kinesis's (milliseconds), the same instant the analyzer judges by.
 */
export function toSourceRecords(event: FirehoseTransformationEvent): SourceRecord[] {
  return event.records.map((r) => {
    const meta = r.kinesisRecordMetadata;
    if (meta === undefined) throw new Error(`record ${r.recordId} has no kinesisRecordMetadata: the archive reads a Kinesis stream, not direct puts`);
    return { recordId: r.recordId, shardId: meta.shardId, sequenceNumber: meta.sequenceNumber, data: r.data, arrivalMs: meta.approximateArrivalTimestamp };
  });
}

export interface TransformedRecord {
  readonly recordId: string;
  /** One JSON line. */
  readonly line: string;
  readonly day: string;
  readonly rejected: boolean;
}

/**
 * Reads every record as the analyzer does, capped dimensions decided by the same registry (asked
 * for values it hasn't seen, as the analyzer would be), and returns one row per record. Throws
 * when the registry can't be asked: Firehose then retries the batch, and after its retries keeps
 * the records under the error prefix, so nothing is archived with a reading the counters don't share.
 */
export async function transformRecords(records: readonly SourceRecord[], deps: ArchiverDeps): Promise<TransformedRecord[]> {
  const gate = deps.gate ?? memoryGate();
  const decode = (r: SourceRecord): Decoded => decodeRecord(r.data, deps.rules, r.arrivalMs, gate);
  let decoded = records.map(decode);
  const undecided = decoded.flatMap((d) => (d.ok ? d.undecided : []));
  if (undecided.length > 0 && deps.gate !== undefined) {
    await deps.gate.decide(undecided);
    decoded = records.map(decode);
  }
  return records.map((r, i) => {
    const { row, day } = archiveRow(r, decoded[i], deps.rules, deps.columns);
    return { recordId: r.recordId, line: `${JSON.stringify(row)}\n`, day, rejected: !decoded[i].ok };
  });
}

/**
 * What the handler may answer Firehose with. Lambda caps a synchronous response at 6 MB; a row is
 * several times its record (the raw line plus the reading, base64), so the component gives the
 * archiver Firehose's smallest buffer (0.2 MB), and this keeps a margin for the rest of the answer.
 */
export const RESPONSE_BUDGET_BYTES = 5_500_000;

/**
 * The archiver's Firehose transformation handler: each record becomes its row, partitioned by
 * day. Should the rows outgrow Lambda's response (records of a few bytes each), those past the
 * budget are answered ProcessingFailed with their data as it came: Firehose keeps them under
 * `errors/processing-failed/`, so none is lost, and the log says how many.
 */
export function createArchiverHandler(deps: ArchiverDeps): FirehoseTransformationHandler {
  return async (event, context) => {
    const log = withFields(deps.log, { requestId: context.awsRequestId, invocationId: event.invocationId });
    const records = toSourceRecords(event);
    const rows = await transformRecords(records, { ...deps, log });
    let budget = RESPONSE_BUDGET_BYTES;
    let failed = 0;
    const out: FirehoseTransformationResultRecord[] = rows.map((r, i) => {
      const data = Buffer.from(r.line, "utf8").toString("base64");
      // The record's id, the result, the partition key and JSON's punctuation: about 200 bytes more.
      budget -= data.length + r.recordId.length + 200;
      if (budget >= 0) return { recordId: r.recordId, result: "Ok", data, metadata: { partitionKeys: { day: r.day } } };
      failed += 1;
      return { recordId: r.recordId, result: "ProcessingFailed", data: records[i].data };
    });
    if (failed > 0) log("WARN", "rows past Lambda's response limit left to Firehose's error output", { failed, records: rows.length });
    log("INFO", "archived", { records: rows.length - failed, rejected: rows.filter((r) => r.rejected).length, shards: [...new Set(records.map((r) => r.shardId))] });
    return { records: out };
  };
}
