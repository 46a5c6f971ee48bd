// The jit-all run (issue 4, "every existing test also runs with jit on, compiled"): the kernel
// and reference suites again, with every public API call wrapped to run as a jitted, compiled
// program (test/jit-all/: wrap.ts says what is jitted and what passes through). `npm test`
// runs it as the suite "kernel+reference (jit-all)"; by hand:
//   npx vitest run -c vitest.jit.config.mts [files]
// Set PRIMAL_JIT_ALL_STATS=<file> to append each test file's counters (calls jitted, passed
// through, programs compiled) to <file> as JSON lines.
import { defineConfig } from "vitest/config";

/**
 * Tests that cannot hold in this mode, by full name ("describe test"), each with why. They
 * are skipped here and still run in the ordinary suites.
 */
export const EXCLUDED: { test: string; why: string }[] = [
  {
    test: "registry every registered primitive has a row in this table",
    why: "the file loads only kernel/primitives; the jit-all setup loads the whole API, which registers jit, cond, while, scan, custom_* and debug_* primitives that this table leaves to their own tests",
  },
  {
    test: "array, asarray, copy always returns a new array, keeping the weak type",
    why: "asserts np.asarray(x) and np.array(x, {copy: false}) return x itself; a jitted function's output is always a new array",
  },
  {
    test: "array, asarray, copy copy keeps dtype and weak type",
    why: "expect(c).not.toBe(w) on 0-d arrays: with the whole API loaded (kernel/api/indexing.ts installs NDArray's iterator) vitest's toBe diff iterates the 0-d arrays and throws; the file alone never loads the iterator",
  },
  {
    test: "lowering ints, slices and new axes use slice/rev, not gather; arrays use one gather",
    why: "counts calls of the eager slice kernel; compiled, a slice is index arithmetic inside a fused kernel and no slice kernel runs",
  },
];

/**
 * Files left out of this run, each with why: what they test does not change in this mode
 * (internals called directly, or jit already compared with eager), and running them again would
 * slow `npm test` for nothing.
 */
const EXCLUDED_FILES: { file: string; why: string }[] = [
  {
    file: "test/kernel/inspect-records.test.ts",
    why: "checks the inspection records of the functions it traces, by count and line; in this mode every API call is a jitted program of its own and adds records",
  },
  {
    file: "test/kernel/pmap*.test.ts",
    why: "needs PRIMAL_CPU_DEVICES=4 before the CPU backend loads, and this run's setup file loads the kernel first; jit(pmap) is tested in the file itself",
  },
  ...["test/kernel/device-threads.test.ts", "test/kernel/inspect-pmap.test.ts", "test/kernel/inspect-device-programs.test.ts", "test/kernel/inspect-device-text.test.ts", "test/kernel/example-data-parallel.test.ts"].map((file) => ({
    file,
    why: "needs several CPU devices (PRIMAL_CPU_DEVICES) before the CPU backend loads, as the pmap files do; their programs run jitted on the devices' threads anyway",
  })),
  {
    file: "test/kernel/random.test.ts",
    why: "random functions run unchanged in this mode (samplers are not jitted per call); the file would re-run ~10 s of identical sampling for a few dozen jitted statistics",
  },
  {
    file: "test/kernel/compiler-*.test.ts",
    why: "the compiler's own tests: they already run every program jitted and compare it with the same program run eagerly",
  },
  {
    file: "test/kernel/codegen-wasm.test.ts",
    why: "tests the WebAssembly kernels directly against the JS kernels, and jit end to end with wasm on and off, itself",
  },
  {
    file: "test/kernel/f32-math.test.ts",
    why: "tests the float32 math helpers directly against float64 references (~10 s); their use in compiled kernels is covered by the ufunc and reference suites here",
  },
  {
    file: "test/kernel/codegen-wgsl.test.ts",
    why: "pure WGSL code generation from kernel IR (golden text and index checks); nothing in it runs through the public API",
  },
  {
    file: "test/kernel/eager-wasm.test.ts",
    why: "tests the eager path itself (ops run one by one as wasm kernels); in this mode every op is compiled instead, so that path is never taken",
  },
  {
    file: "test/kernel/gemm.test.ts",
    why: "tests the GEMM kernels and their thread pool directly; a jitted dot_general runs the same GEMM as a library step",
  },
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export default defineConfig({
  test: {
    include: ["test/kernel/**/*.test.ts", "test/reference/**/*.test.ts", "test/jit-all/**/*.test.ts"],
    exclude: ["test/bench/**", "node_modules/**", ...EXCLUDED_FILES.map((e) => e.file)],
    setupFiles: ["test/jit-all/setup.ts"],
    // PRIMAL_BACKEND: the CPU suites run on the CPU even on a machine with a GPU (the automatic default).
    env: { PRIMAL_JIT_ALL: "1", PRIMAL_BACKEND: "cpu" },
    testNamePattern: new RegExp(`^(?!.*(?:${EXCLUDED.map((e) => escape(e.test)).join("|")})$)`),
    testTimeout: 30000,
    pool: "forks",
  },
});
