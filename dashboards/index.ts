export * from "./alarms";
export * from "./catalog";
export * from "./limits";
export * from "./rules";
export * from "./widgets";
