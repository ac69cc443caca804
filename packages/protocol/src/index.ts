export * from "./codec.js";
export * from "./control.js";
export * from "./credit.js";
export * from "./display-text.js";
export * from "./frame-types.js";
export * from "./frame-writer.js";
export * from "./limits.js";
export * from "./relay-process.js";
