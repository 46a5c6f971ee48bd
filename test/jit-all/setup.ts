// vitest setup file of the jit-all run (vitest.jit.config.mts): installs the wrappers that make
// every public API call run as a compiled jit program (install.ts, wrap.ts), and fails a test
// file whose jitted programs did not all compile (the compiler falls back to interpreting a
// program whose lowering throws; in this run that fallback is a failure, not a detail).

import { appendFileSync } from "node:fs";
import { afterAll, expect } from "vitest";
import { inspectCompiled, onCompile } from "../../kernel/lower/inspect";
import { installJitAll } from "./install";
import { jitAllStats } from "./wrap";

if (process.env.PRIMAL_JIT_ALL === "1") {
  installJitAll();
  let compiled = 0;
  onCompile(() => compiled++);
  afterAll(() => {
    const s = jitAllStats();
    const file = process.env.PRIMAL_JIT_ALL_STATS;
    if (file) {
      const line = { file: expect.getState().testPath, jitted: s.jitted, passed: s.passed, closures: s.closures, compiled, records: inspectCompiled().length, nonArray: [...s.nonArray], reasons: Object.fromEntries(s.passReasons), notCompiled: [...s.notCompiled] };
      appendFileSync(file, JSON.stringify(line) + "\n");
    }
    if (s.notCompiled.size > 0) throw new Error(`jit-all: programs ran interpreted because compilation failed (PRIMAL_DEBUG=3 says why): ${[...s.notCompiled].join(", ")}`);
  });
}
