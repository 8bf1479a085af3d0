import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Rejection } from "./aggregate";

/**
 * Where a batch's rejects are kept: one JSON-lines object per batch, keyed by shard and the
 * batch's sequence range so a retried batch overwrites its own object instead of adding one.
 */
export function quarantineKey(rejections: readonly Rejection[]): string {
  const first = rejections[0];
  const last = rejections[rejections.length - 1];
  const day = new Date(first.arrivalMs).toISOString().slice(0, 10).replace(/-/g, "/");
  return `rejected/${day}/${first.shardId}/${first.sequenceNumber}-${last.sequenceNumber}.jsonl`;
}

export function quarantineBody(rejections: readonly Rejection[]): string {
  return rejections
    .map((r) =>
      JSON.stringify({
        shardId: r.shardId,
        sequenceNumber: r.sequenceNumber,
        approximateArrival: new Date(r.arrivalMs).toISOString(),
        reason: r.reason,
        detail: r.detail,
        data: r.data,
      }),
    )
    .join("\n")
    .concat("\n");
}

export async function quarantine(client: S3Client, bucket: string, rejections: readonly Rejection[]): Promise<string | undefined> {
  if (rejections.length === 0) return undefined;
  const key = quarantineKey(rejections);
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: quarantineBody(rejections), ContentType: "application/x-ndjson" }),
  );
  return key;
}
