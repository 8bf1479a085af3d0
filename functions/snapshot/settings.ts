/** The environment the live app component sets on the snapshot function. */
export const SNAPSHOT_ENV = {
  tableName: "COUNTER_TABLE",
  /** Where capped dimensions' kept values are (`values#<metric>.<field>` items). */
  stateTable: "STATE_TABLE",
  granularity: "GRANULARITY",
  /** The stack and pipeline: with the catalog they name the alarms whose state the snapshot carries. */
  stack: "STACK",
  pipeline: "PIPELINE",
  /** The stack's catalog threshold overrides, JSON `{ "<metric>.<alarm>": number }`. */
  thresholds: "ALARM_THRESHOLDS",
} as const;
