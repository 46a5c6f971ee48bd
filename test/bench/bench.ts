// `npm run bench` (built by scripts/build.mjs into dist/bench.js): Primal side by side with the
// peers a user would pick instead, @jax-js/jax (wasm) and TensorFlow.js (wasm, else cpu), in
// one process, on the workloads of issue 4: matmul, a fused elementwise chain, big reductions,
// the MLP training step (jitted, eager, first call), thread scaling, NumPy as a yardstick, and
// the eager per-op rows. Prints the tables and writes test/bench/RESULTS.md. A benchmark, not a
// test: nothing here asserts a time.
//
// `npm run bench -- --backend webgpu [--sizes 1024,4096]` runs the WebGPU comparison instead
// (webgpu-bench.ts: Primal's webgpu:0 beside jax-js's webgpu device) and writes
// test/bench/RESULTS-webgpu.md; RESULTS.md stays the CPU run's. `--backend cpu` is the default.
//
// `node dist/bench.js --child <mode>` is the same script measuring one thing in a process of
// its own (child.ts), for cold starts and other thread counts. `node dist/bench.js --section
// pmap` runs only the pmap section (pmap.ts; its figures come from child processes too).

import { execSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { ChildMode, childReply } from "./measure";
import { coldFirstCallJax, coldFirstCallPrimal, mlpBench } from "./mlp";
import { loadPeers } from "./peers";
import { BenchResults, renderConsole, renderResults, toText } from "./report";
import { gemmAlone, matmul1024Child, matmulRows, matmulScaling, numpyMatmul } from "./matmul";
import { eagerOpRows, fusedRows, reductionRows } from "./workloads";
import { parseSizes, webgpuBench } from "./webgpu-bench";
import { pmapBench, pmapMatmulChild, pmapTable } from "./pmap";

async function child(mode: ChildMode): Promise<void> {
  if (mode === "first-call-primal") childReply(await coldFirstCallPrimal());
  else if (mode === "first-call-jax") {
    const jx = await import("@jax-js/jax");
    await jx.init("wasm");
    jx.defaultDevice("wasm");
    childReply(await coldFirstCallJax(jx));
  } else if (mode === "matmul-1024") childReply(await matmul1024Child());
  else if (mode === "pmap-matmul") childReply(await pmapMatmulChild());
  else throw new Error(`bench: unknown child mode, got ${JSON.stringify(mode)}`);
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}`;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const loadStart = os.loadavg()[0];
  const peers = await loadPeers();
  console.log(`peers: jax-js ${peers.jax ? `${peers.jax.version} (${peers.jax.backend})` : "missing"}; tfjs ${peers.tf ? `${peers.tf.version} (${peers.tf.backend})` : "missing"}`);
  // The MLP first: its warm-process first calls then meet as little already-compiled code as possible.
  const mlp = await mlpBench(peers);
  const matmul = await matmulRows(peers);
  const fused = await fusedRows(peers);
  const reductions = await reductionRows(peers);
  const eagerOps = await eagerOpRows(peers);
  const gemm = await gemmAlone();
  const scaling = matmulScaling();
  const numpy = numpyMatmul([1024, 2048]);
  const pmapResult = pmapBench();
  if ("error" in numpy) console.error(`bench: ${numpy.error}`);
  const results: BenchResults = {
    peers,
    eagerOps,
    matmul,
    fused,
    reductions,
    mlp,
    gemm,
    scaling,
    numpy,
    pmap: pmapResult,
    env: { date: execSync("date", { encoding: "utf8" }).trim(), machine: machine(), node: process.version, seconds: (performance.now() - t0) / 1000, load: [loadStart, os.loadavg()[0]] },
  };
  console.log("\n" + renderConsole(results));
  const out = join(process.cwd(), "test", "bench", "RESULTS.md");
  writeFileSync(out, renderResults(results));
  console.log(`bench: wrote ${out}`);
}

/** `--backend cpu|webgpu` (or `--backend=...`); cpu when absent. */
function backendArg(argv: string[]): "cpu" | "webgpu" {
  const i = argv.findIndex((a) => a === "--backend" || a.startsWith("--backend="));
  if (i < 0) return "cpu";
  const b = argv[i].includes("=") ? argv[i].slice(argv[i].indexOf("=") + 1) : argv[i + 1];
  if (b !== "cpu" && b !== "webgpu") throw new Error(`bench: --backend expects cpu or webgpu, got ${JSON.stringify(b)}`);
  return b;
}

function start(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = argv.indexOf("--child");
  if (at >= 0) return child(argv[at + 1] as ChildMode);
  // `--section pmap`: only the pmap figures, printed (RESULTS.md is left as it is).
  if (argv.includes("--section")) {
    const name = argv[argv.indexOf("--section") + 1];
    if (name !== "pmap") throw new Error(`bench: --section knows only pmap, got ${JSON.stringify(name)}`);
    return Promise.resolve().then(() => console.log("\n" + toText(pmapTable(pmapBench()))));
  }
  if (backendArg(argv) === "webgpu") return webgpuBench({ sizes: parseSizes(argv), machine: machine() });
  if (parseSizes(argv)) throw new Error("bench: --sizes applies to --backend webgpu only");
  return main();
}

// Exit explicitly: a peer's workers or timers must not keep a finished run (or child) alive.
Promise.resolve().then(start).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
