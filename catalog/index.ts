export * from "./item";
export * from "./limits";
export * from "./load";
export * from "./rules";
export * from "./schema";
export * from "./decimal";
export * from "./state";
export * from "./archive";
