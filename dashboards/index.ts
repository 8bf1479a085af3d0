export * from "./alarms";
export * from "./health";
export * from "./pipeline";
export * from "./widgets";
export * from "./live";
