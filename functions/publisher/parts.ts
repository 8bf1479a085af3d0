/**
 * Counter-table changes → what the publisher pushes: the batch's latest part per (counter,
 * bucket, shard), serialized into AppSync Events events and grouped into publish requests.
 */
import type { DynamoDBRecord } from "aws-lambda";
import { decodePart, type ItemImage } from "../../catalog/item";
import { type LiveEvent, type LivePart, livePart, partId } from "../../catalog/live";

/**
 * AppSync Events' publish limits, from the AWS AppSync Events Developer Guide:
 * - "Publish events via HTTP" (docs.aws.amazon.com/appsync/latest/eventapi/publish-http.html):
 *   a POST to `https://<http domain>/event` carries a channel and "up to 5 events in a batch",
 *   each a stringified JSON value;
 * - "AWS AppSync Events concepts" (docs.aws.amazon.com/appsync/latest/eventapi/event-api-concepts.html):
 *   events have "a maximum size of 240 KB per event". An event past it is dropped, and AppSync
 *   counts the id it adds to each event in the size, so the budget below reads KB as 1,000 bytes
 *   and keeps 1 KB of that for the id.
 */
export const APPSYNC_EVENTS_LIMITS = { eventsPerPublish: 5, eventBytes: 240_000 } as const;
const EVENT_BUDGET_BYTES = APPSYNC_EVENTS_LIMITS.eventBytes - 1_024;

/** A part the batch left, with where it came from in the batch. */
export interface BatchPart {
  readonly part: LivePart;
  /** The index of the record whose image this is: the part's latest in the batch. */
  readonly index: number;
  /** The index of the first record in the batch that changed this part: a retry must start at or before it. */
  readonly first: number;
}

/**
 * The parts a batch of counter-table stream records leaves, each as its latest image in the batch
 * has it, in the order of those images. INSERT and MODIFY only: REMOVE is a TTL expiry, and an
 * image that isn't a counter part is no business of the page.
 */
export function liveParts(records: readonly DynamoDBRecord[]): BatchPart[] {
  const latest = new Map<string, BatchPart>();
  records.forEach((record, index) => {
    if (record.eventName !== "INSERT" && record.eventName !== "MODIFY") return;
    const decoded = decodePart(record.dynamodb?.NewImage as ItemImage | undefined);
    if (decoded === undefined) return;
    const part = livePart(decoded);
    const id = partId(part);
    const held = latest.get(id);
    // Delete first, so the map's order is the order of each part's latest image.
    latest.delete(id);
    latest.set(id, { part, index, first: held?.first ?? index });
  });
  return [...latest.values()];
}

/** One publish request: at most `eventsPerPublish` events, each a LiveEvent's JSON. */
export interface PublishRequest {
  readonly events: string[];
  readonly parts: number;
  /** The smallest `first` of its parts: the record a retry must start from if this request isn't published. */
  readonly first: number;
}

/**
 * Packs parts, in order, into events within AppSync's per-event size and events into requests of
 * at most its events per request. A part that can't fit an event alone can never be published:
 * it is handed back in `oversized` instead of blocking the stream.
 */
export function chunkEvents(
  parts: readonly BatchPart[],
  limits: { eventBytes?: number; eventsPerPublish?: number } = {},
): { requests: PublishRequest[]; oversized: BatchPart[] } {
  const budget = limits.eventBytes ?? EVENT_BUDGET_BYTES;
  const perRequest = limits.eventsPerPublish ?? APPSYNC_EVENTS_LIMITS.eventsPerPublish;
  const envelope = Buffer.byteLength(JSON.stringify({ parts: [] } satisfies LiveEvent));
  const requests: PublishRequest[] = [];
  const oversized: BatchPart[] = [];
  let request: { events: string[]; parts: number; first: number } | undefined;
  let event: { texts: string[]; bytes: number; first: number } | undefined;
  const closeEvent = () => {
    if (event === undefined) return;
    if (request !== undefined && request.events.length >= perRequest) {
      requests.push(request);
      request = undefined;
    }
    request ??= { events: [], parts: 0, first: event.first };
    // The parts' texts joined are exactly JSON.stringify({ parts }): no second serialization.
    request.events.push(`{"parts":[${event.texts.join(",")}]}`);
    request.parts += event.texts.length;
    request.first = Math.min(request.first, event.first);
    event = undefined;
  };
  for (const p of parts) {
    const text = JSON.stringify(p.part);
    const bytes = Buffer.byteLength(text);
    if (envelope + bytes > budget) {
      oversized.push(p);
      continue;
    }
    if (event !== undefined && event.bytes + 1 + bytes > budget) closeEvent();
    if (event === undefined) event = { texts: [text], bytes: envelope + bytes, first: p.first };
    else {
      event.texts.push(text);
      event.bytes += 1 + bytes;
      event.first = Math.min(event.first, p.first);
    }
  }
  closeEvent();
  if (request !== undefined) requests.push(request);
  return { requests, oversized };
}
