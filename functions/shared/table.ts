/**
 * The counter table's shape: one definition, used by the table component that deploys it,
 * the analyzer that writes it and the local run that creates it on DynamoDB Local.
 */
export const COUNTER_TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expiresAt",
  streamViewType: "NEW_AND_OLD_IMAGES",
  billingMode: "PAY_PER_REQUEST",
} as const;
