/** The environment the forwarder component sets. */
export const FORWARDER_ENV = { stateTable: "STATE_TABLE" } as const;
