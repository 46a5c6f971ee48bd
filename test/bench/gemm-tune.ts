// Single-thread GFLOP/s of the wasm float32 GEMM (kernel/backends/cpu/gemm.ts) for micro-tile
// shapes and cache blockings, on square row-major matrices. Not a test; used to pick the
// defaults in gemm.ts. Run:
//   npx esbuild test/bench/gemm-tune.ts --bundle --platform=node --outfile=dist/gemm-tune.js && node dist/gemm-tune.js [sizes] [mode]
// sizes: comma-separated (default 256,512,1024,2048); mode: "default" (the library's choice),
// "shapes" (micro-tiles at the default blocking) or "blocking" (blockings at the default tile;
// the lists from KCS, MCS, NCS). THREADS=1,2 measures each configuration on those thread counts.
// Add --experimental-wasm-relaxed-simd to node on Node 20 to try the relaxed_madd kernels.

import { Blocking, DEFAULT_BLOCKING, WasmSgemm, defaultShape, hasRelaxedSimd } from "../../kernel/backends/cpu/gemm";
import { GemmKernelShape } from "../../kernel/backends/cpu/gemm-wasm";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median GFLOP/s of C = A·B (n×n), after warm-up (which also lets V8 tier the module up to TurboFan). */
function gflops(g: WasmSgemm, n: number, budgetMs = 1500): number {
  const at = g.heap / 4;
  g.reserve(4 * 3 * n * n);
  for (let i = 0; i < 2 * n * n; i++) g.f32[at + i] = Math.random() * 2 - 1;
  const a = { offset: 4 * at, rs: n, cs: 1 };
  const b = { offset: 4 * (at + n * n), rs: n, cs: 1 };
  const c = { offset: 4 * (at + 2 * n * n), rs: n, cs: 1 };
  const warm = performance.now();
  while (performance.now() - warm < 300) g.run(n, n, n, a, b, c);
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < budgetMs && times.length < 50)) {
    const t = performance.now();
    g.run(n, n, n, a, b, c);
    times.push(performance.now() - t);
  }
  return (2 * n ** 3) / median(times) / 1e6;
}

function main(): void {
  const sizes = (process.argv[2] ?? "256,512,1024,2048").split(",").map(Number);
  const mode = process.argv[3] ?? "default";
  const relaxed = hasRelaxedSimd();
  console.log(`relaxed SIMD: ${relaxed}, Node ${process.version}`);
  const configs: [string, GemmKernelShape, Blocking][] = [];
  if (mode === "shapes") {
    for (const r of relaxed ? [false, true] : [false])
      for (const [mr, nr] of [[2, 8], [3, 8], [4, 8], [5, 8], [6, 8], [2, 12], [3, 12], [4, 12], [2, 16], [3, 16], [1, 16]])
        configs.push([`${mr}x${nr}${r ? " relaxed" : ""}`, { mr, nr, relaxed: r }, DEFAULT_BLOCKING]);
  } else if (mode === "blocking") {
    for (const kc of (process.env.KCS ?? "128,256,384,512").split(",").map(Number))
      for (const mc of (process.env.MCS ?? "48,96,144,240,480").split(",").map(Number))
        for (const nc of (process.env.NCS ?? "512,4096").split(",").map(Number)) configs.push([`mc ${mc} kc ${kc} nc ${nc}`, defaultShape(relaxed), { mc, kc, nc }]);
  } else configs.push(["default", defaultShape(relaxed), DEFAULT_BLOCKING]);
  const threads = (process.env.THREADS ?? "1").split(",").map(Number);
  for (const [name, shape, blocking] of configs)
    for (const t of threads) {
      const g = new WasmSgemm(shape, blocking, t);
      const row = sizes.map((n) => `${n}: ${gflops(g, n, n >= 2048 ? 4000 : 1500).toFixed(1)}`);
      console.log(`${(name + (t > 1 ? `, ${t} threads` : "")).padEnd(28)} ${row.join("  ")} GFLOP/s`);
    }
}

main();
