import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "test/extension/**", "node_modules/**"],
    testTimeout: 30000,
    pool: "forks",
    // The CPU suites run on the CPU even on a machine with a GPU (the automatic default).
    env: { PRIMAL_BACKEND: "cpu" },
  },
});
