#!/usr/bin/env node
// Entry of the `connect` CLI. Commands are loaded from dist/ (run `npm run build` first).
import { execute, settings } from "@oclif/core";

// oclif would otherwise try to load src/*.ts whenever NODE_ENV is "development" or "test"
// (as under vitest), which this ESM package cannot do without a TypeScript loader.
settings.enableAutoTranspile = false;

await execute({ dir: import.meta.url });
