// Preloaded (node --expose-gc --require) into the Private Connect hub and agents during the
// memory measurement only: SIGUSR2 runs a full garbage collection, so the bench can tell
// memory a stream keeps alive from garbage not yet collected. Nothing else changes.
process.on("SIGUSR2", () => {
  if (typeof global.gc === "function") global.gc();
});
