// The webgpu-all run (issue 5, "backend parity"): the kernel and reference suites again with
// webgpu:0 as the default device, so every array, eager op and jitted program runs on the
// WebGPU backend (on Mesa's lavapipe in CI) and is checked by the same references as on the
// CPU. `npm test` runs it as the suite "kernel+reference (webgpu-all)"; by hand:
//   npx vitest run -c vitest.webgpu.config.mts [files]
// With PRIMAL_JIT_ALL=1 (the suite "primitives (webgpu, jit-all)") it runs the per-primitive and
// NumPy-API files with every public call jitted and compiled (test/jit-all/), so every primitive
// is checked on the GPU both eager and compiled.
import { defineConfig } from "vitest/config";
import { EXCLUDED as JIT_EXCLUDED } from "./vitest.jit.config.mts";

/**
 * Tests that cannot hold on this backend, by full name ("describe test"), each with why. They
 * are skipped here and still run in the ordinary suites.
 */
const EXCLUDED: { test: string; why: string }[] = [
  {
    test: "registry every registered primitive has a row in this table",
    why: "the file loads only kernel/primitives; this run's setup loads the backend, which registers jit, cond, while, scan, custom_* and debug_* primitives that this table leaves to their own tests",
  },
  {
    test: "devices lists cpu:0 and arrays live there",
    why: "asserts the CPU is the default device; here webgpu:0 is (test/webgpu/backend.test.ts covers devices and placement)",
  },
  {
    test: "lowering ints, slices and new axes use slice/rev, not gather; arrays use one gather",
    why: "counts calls of the CPU's eager slice kernel",
  },
  {
    test: "lowering an update is one scatter",
    why: "counts calls of the CPU implementations of the scatter primitives; on WebGPU the scatter runs as WGSL",
  },
  {
    test: "cumulative reductions: jvp, vjp, batching jvp against finite differences, every length 1..9 (odd and even scans), both directions",
    why: "the scan shaders bake in their lengths, so this compiles a new set for each of 18 lengths and directions: over 60 s on lavapipe; the jvp rule itself is backend-independent and runs in the kernel suite",
  },
  {
    test: "elementwise chains a chain of 10 elementwise ops of 10 different primitives is one kernel over the flat array",
    why: "asserts jitted and eager results equal bit for bit; a fused WGSL kernel is compiled as a whole, and the shader compiler may contract a*b+c into an FMA across what were separate eager ops (codegen-wgsl.ts header), so they agree within float32 tolerance",
  },
  {
    test: "reductions take their producers and their elementwise epilogue sum over two non-adjacent axes is one kernel, exact against a float64 row-major reference",
    why: "asserts the CPU's float64 accumulation bit for bit; WGSL has no float64 and sums in compensated float32 (codegen-wgsl.ts header)",
  },
  {
    test: "random programs: compiled equals interpreted, bit for bit 240 small seeded programs (fused kernels as generated JS)",
    why: "bit-for-bit compiled vs eager: fused WGSL kernels may be FMA-contracted by the shader compiler, eager single ops cannot (codegen-wgsl.ts header)",
  },
  {
    test: "random programs: compiled equals interpreted, bit for bit 60 larger seeded programs (big kernels may run as WebAssembly)",
    why: "as above",
  },
  {
    test: "'jitted MLP step' optimize: converges, shrinks, is exact and pure, and a second run changes nothing",
    why: "compares the programs before and after the passes bit for bit through jit; on the GPU their fused kernels are FMA-contracted differently and float32 sums are compensated float32, so they agree within float32 tolerance only",
  },
  {
    test: "'jitted MLP step' pass inline: well formed, exact, pure, idempotent at its fixed point",
    why: "as above",
  },
];

/** Files about the CPU backend's own machinery (WebAssembly kernels, the GEMM, the CPU runtime, its float32 helpers bit for bit, CLI listings of CPU kernels). */
const CPU_ONLY = [
  "test/kernel/codegen-wasm.test.ts", "test/kernel/eager-wasm.test.ts", "test/kernel/compiler-runtime.test.ts", "test/kernel/compiler-golden.test.ts",
  "test/kernel/compiler-golden-wasm.test.ts", "test/kernel/gemm.test.ts", "test/kernel/f32-math.test.ts", "test/kernel/cell-runner.test.ts",
  // The inspection records' builders are backend-independent; this file pins the CPU's kernel languages and records.
  "test/kernel/inspect-records.test.ts",
  // pmap over 4 logical CPU devices (PRIMAL_CPU_DEVICES); WebGPU pmap needs several adapters.
  "test/kernel/pmap.test.ts", "test/kernel/pmap-parallel.test.ts", "test/kernel/pmap-sharded.test.ts", "test/kernel/pmap-control-flow.test.ts", "test/kernel/inspect-pmap.test.ts",
  // The CPU devices' own threads (test/webgpu/pmap.test.ts has pmap over WebGPU devices).
  "test/kernel/device-threads.test.ts", "test/kernel/example-data-parallel.test.ts", "test/kernel/inspect-device-programs.test.ts", "test/kernel/inspect-device-text.test.ts",
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The files of the jitted variant: every primitive's table, and the NumPy API over them. */
const JIT_FILES = [
  "test/kernel/primitives.test.ts", "test/kernel/ufuncs.test.ts", "test/kernel/reductions.test.ts", "test/kernel/shape-ops.test.ts",
  "test/kernel/indexing.test.ts", "test/kernel/sorting.test.ts", "test/kernel/contractions.test.ts", "test/kernel/creation.test.ts",
];
const jitAll = process.env.PRIMAL_JIT_ALL === "1";

export default defineConfig({
  test: {
    include: jitAll ? JIT_FILES : ["test/kernel/**/*.test.ts", "test/reference/**/*.test.ts"],
    exclude: ["node_modules/**", ...CPU_ONLY],
    setupFiles: jitAll ? ["test/webgpu-all/setup.ts", "test/jit-all/setup.ts"] : ["test/webgpu-all/setup.ts"],
    env: { PRIMAL_BACKEND: "webgpu", PRIMAL_JIT_ALL: jitAll ? "1" : "0" },
    testTimeout: 60000,
    pool: "forks",
    // The jitted variant also skips what the jit-all run skips (vitest.jit.config.mts says why).
    testNamePattern: new RegExp(`^(?!.*(?:${[...EXCLUDED, ...(jitAll ? JIT_EXCLUDED : [])].map((e) => escape(e.test)).join("|")})$)`),
  },
});
