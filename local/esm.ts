/**
 * What a Lambda event source mapping does with one shard's records, reproduced locally:
 * batches in order, checkpoint on success, retry from the first reported failure, bisect a
 * batch whose invocation errored, and after the last retry send the batch to the on-failure
 * destination and move on (so a poison batch never blocks the shard).
 */
export interface MappingBehaviour {
  readonly batchSize: number;
  readonly maximumRetryAttempts: number;
  readonly bisectBatchOnFunctionError: boolean;
}

export interface InvocationResult {
  readonly batchItemFailures?: { itemIdentifier: string }[];
}

export interface DeliveryStats {
  invocations: number;
  functionErrors: number;
  partialFailures: number;
  bisections: number;
  /** Records handed to the on-failure destination. */
  deadLettered: number;
}

export interface Delivery<R> {
  readonly records: readonly R[];
  /** The identifier Lambda reports in batchItemFailures (sequence number). */
  readonly idOf: (record: R) => string;
  readonly invoke: (batch: R[]) => Promise<InvocationResult | void>;
  readonly onFailure?: (batch: R[], reason: string) => void | Promise<void>;
  readonly mapping: MappingBehaviour;
  readonly stats?: DeliveryStats;
}

export const newStats = (): DeliveryStats => ({ invocations: 0, functionErrors: 0, partialFailures: 0, bisections: 0, deadLettered: 0 });

export async function deliverShard<R>(delivery: Delivery<R>): Promise<DeliveryStats> {
  const stats = delivery.stats ?? newStats();
  const { mapping, idOf } = delivery;

  const handle = async (batch: R[], retries: number): Promise<void> => {
    let result: InvocationResult | void;
    stats.invocations += 1;
    try {
      result = await delivery.invoke(batch);
    } catch (error) {
      stats.functionErrors += 1;
      if (retries >= mapping.maximumRetryAttempts) return deadLetter(batch, `function error after ${retries} retries: ${String(error)}`);
      if (mapping.bisectBatchOnFunctionError && batch.length > 1) {
        stats.bisections += 1;
        const half = Math.ceil(batch.length / 2);
        await handle(batch.slice(0, half), retries + 1);
        await handle(batch.slice(half), retries + 1);
        return;
      }
      return handle(batch, retries + 1);
    }
    const failures = result?.batchItemFailures ?? [];
    if (failures.length === 0) return;
    stats.partialFailures += 1;
    // Lambda resumes from the lowest reported record; an identifier not in the batch fails the whole batch.
    const indexes = failures.map((f) => batch.findIndex((r) => idOf(r) === f.itemIdentifier));
    const from = indexes.some((i) => i < 0) ? 0 : Math.min(...indexes);
    const rest = batch.slice(from);
    if (retries >= mapping.maximumRetryAttempts) return deadLetter(rest, `partial failure after ${retries} retries`);
    return handle(rest, retries + 1);
  };

  const deadLetter = async (batch: R[], reason: string) => {
    stats.deadLettered += batch.length;
    await delivery.onFailure?.(batch, reason);
  };

  for (let start = 0; start < delivery.records.length; start += mapping.batchSize) {
    await handle(delivery.records.slice(start, start + mapping.batchSize), 0);
  }
  return stats;
}
