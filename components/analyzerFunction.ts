import * as pulumi from "@pulumi/pulumi";
import type { Catalog, Granularity } from "../catalog/schema";
import type { FunctionSettings, MappingSettings } from "../config/stack";
import type { CounterMode } from "../functions/analyzer/counters";
import { ANALYZER_STATE_KEYS } from "../catalog/state";
import { ANALYZER_ENV } from "../functions/analyzer/settings";
import { functionArchive } from "./bundle";
import { StreamConsumer } from "./streamFunction";

export interface AnalyzerFunctionArgs extends FunctionSettings {
  /** The pipeline's catalog: embedded in the bundle, it decides what is counted. */
  readonly catalog: Catalog;
  readonly granularity: Granularity;
  readonly streamArn: pulumi.Input<string>;
  readonly tableArn: pulumi.Input<string>;
  readonly tableName: pulumi.Input<string>;
  readonly quarantineArn: pulumi.Input<string>;
  readonly quarantineName: pulumi.Input<string>;
  /** The pipeline's state table: capped dimensions' kept values and the unapplied ledger. */
  readonly stateTableArn: pulumi.Input<string>;
  readonly stateTableName: pulumi.Input<string>;
  readonly mapping: MappingSettings;
  /** @default "exactly-once" */
  readonly counterMode?: CounterMode;
  /** Days a counter bucket lives before DynamoDB's TTL removes it. @default 30 */
  readonly counterTtlDays?: number;
  /** @default 14 */
  readonly logRetentionDays?: number;
}

/** The function that rolls stream events up into counters, exactly once per record. */
export class AnalyzerFunction extends StreamConsumer {
  constructor(name: string, args: AnalyzerFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    const counterMode = args.counterMode ?? "exactly-once";
    if (counterMode === "exactly-once" && args.mapping.parallelizationFactor > 1) {
      throw new Error(
        `AnalyzerFunction ${name}: mapping.parallelizationFactor is ${args.mapping.parallelizationFactor}, but exactly-once counters ` +
          "rely on per-shard order; set it to 1 and add shards for throughput, or use counterMode \"add\"",
      );
    }
    super(
      "analytics:pipeline:AnalyzerFunction",
      name,
      {
        code: functionArchive("analyzer", args.catalog),
        sourceArn: args.streamArn,
        sourceKind: "kinesis",
        mapping: args.mapping,
        memoryMb: args.memoryMb,
        timeoutSeconds: args.timeoutSeconds,
        logRetentionDays: args.logRetentionDays,
        environment: {
          [ANALYZER_ENV.tableName]: args.tableName,
          [ANALYZER_ENV.quarantineBucket]: args.quarantineName,
          [ANALYZER_ENV.mode]: counterMode,
          [ANALYZER_ENV.granularity]: args.granularity,
          [ANALYZER_ENV.ttlDays]: String(args.counterTtlDays ?? 30),
          [ANALYZER_ENV.stateTable]: args.stateTableName,
        },
        statements: [
          // GetItem only when a redelivery's failed condition comes back without the old image;
          // BatchGetItem only after a failed batch, to note where each failed counter stands.
          { Sid: "UpdateCounters", Effect: "Allow", Action: ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:BatchGetItem"], Resource: args.tableArn },
          {
            Sid: "KeepState",
            Effect: "Allow",
            Action: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
            Resource: args.stateTableArn,
            // Its own items only: kept dimension values and the unapplied ledger, never the forwarder's marks.
            Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ANALYZER_STATE_KEYS } },
          },
          { Sid: "QuarantineRejects", Effect: "Allow", Action: ["s3:PutObject"], Resource: pulumi.interpolate`${args.quarantineArn}/rejected/*` },
        ],
      },
      opts,
    );
  }
}
