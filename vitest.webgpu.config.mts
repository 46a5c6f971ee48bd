// The webgpu-all run (issue 5, "backend parity"): the kernel and reference suites again with
// webgpu:0 as the default device, so every array, eager op and jitted program runs on the
// WebGPU backend (on Mesa's lavapipe in CI) and is checked by the same references as on the
// CPU. `npm test` runs it as the suite "kernel+reference (webgpu-all)"; by hand:
//   npx vitest run -c vitest.webgpu.config.mts [files]
import { defineConfig } from "vitest/config";

/**
 * Tests that cannot hold on this backend, by full name ("describe test"), each with why. They
 * are skipped here and still run in the ordinary suites.
 */
const EXCLUDED: { test: string; why: string }[] = [];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export default defineConfig({
  test: {
    include: ["test/kernel/**/*.test.ts", "test/reference/**/*.test.ts"],
    exclude: ["node_modules/**"],
    setupFiles: ["test/webgpu-all/setup.ts"],
    env: { PRIMAL_BACKEND: "webgpu" },
    testTimeout: 60000,
    pool: "forks",
    testNamePattern: EXCLUDED.length ? `^(?!(${EXCLUDED.map((e) => escape(e.test)).join("|")})$)` : undefined,
  },
});
