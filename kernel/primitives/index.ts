// Loads every primitive family, so that the registry (allPrimitives) is complete.
export * as elementwise from "./elementwise";
export * as movement from "./movement";
export * as reduce from "./reduce";
export * as contraction from "./contraction";
export * as indexing from "./indexing";
export * as sort from "./sort";
export * as random from "./random";
