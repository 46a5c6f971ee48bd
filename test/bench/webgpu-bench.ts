// `npm run bench -- --backend webgpu [--sizes 1024,4096]`: the workloads of the CPU bench on
// Primal's WebGPU backend, side by side with @jax-js/jax's webgpu device on the same adapter,
// in one process. Order: the MLP first (so the pipelines its first call creates are counted in
// a process where neither library compiled anything yet), then matmul, the fused elementwise
// chain and the reductions, and last the breakdown of Primal's MLP step (kernel timing on, which
// would perturb the others). Prints the tables and writes test/bench/RESULTS-webgpu.md; the
// CPU run's RESULTS.md is left alone.
//
// Sizes: matmul 1024 (and 4096 on a hardware adapter; `--sizes` sets the list); the fused
// chain at 1M and 4M and the reductions over 16M elements, as in the CPU bench.

import { execSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { mlpData } from "./mlp";
import { closeGpus, openJaxGpu, openPrimalGpu } from "./webgpu-setup";
import { Breakdown, gpuMlpBench, mlpBreakdown } from "./webgpu-mlp";
import { WebgpuResults, renderGpuConsole, renderGpuResults } from "./webgpu-report";
import { GpuPeers, gpuFusedRows, gpuMatmulRows, gpuReductionRows } from "./webgpu-workloads";

const CLOSE_TIMEOUT_MS = 20_000;

/** What the command line asked for. */
export interface WebgpuOptions {
  /** Matmul sizes; null: 1024, plus 4096 on a hardware adapter. */
  sizes: number[] | null;
  /** The machine in words (bench.ts's line). */
  machine: string;
}

/** Runs the WebGPU comparison and writes RESULTS-webgpu.md. */
export async function webgpuBench(o: WebgpuOptions): Promise<void> {
  const t0 = performance.now();
  const loadStart = os.loadavg()[0];
  const primal = openPrimalGpu();
  const jaxOrError = await openJaxGpu();
  const notes: string[] = [];
  const jax = "error" in jaxOrError ? null : jaxOrError;
  if ("error" in jaxOrError) notes.push(`${jaxOrError.error}; its columns are empty.`);
  console.log(`webgpu: Primal ${primal.device} on ${primal.adapter}${primal.software ? " (software adapter)" : ""}; jax-js ${jax ? `${jax.version} (${jax.backend})` : "missing"}`);
  const g: GpuPeers = { primal, jax, notes };
  let breakdown: Breakdown | null = null;
  try {
    const d = mlpData();
    const mlp = await gpuMlpBench(g, d);
    const matmul = await gpuMatmulRows(g, o.sizes ?? (primal.software ? [1024] : [1024, 4096]));
    const fused = await gpuFusedRows(g);
    const reductions = await gpuReductionRows(g, 1 << 24);
    try {
      console.log("webgpu: timing each kernel of Primal's MLP step...");
      breakdown = await mlpBreakdown(g, d);
    } catch (e) {
      notes.push(`the MLP breakdown failed: ${(e as Error).message.split("\n")[0]}`);
    }
    const s = primal.client.stats();
    const results: WebgpuResults = {
      primal: { device: primal.device, adapter: primal.adapter, software: primal.software },
      jax: jax && { name: jax.name, version: jax.version, backend: jax.backend },
      matmul,
      fused,
      reductions,
      mlp,
      breakdown,
      stats: { pipelines: s.pipelines, submits: s.submits, dispatches: s.dispatches },
      notes,
      env: { date: execSync("date", { encoding: "utf8" }).trim(), machine: o.machine, node: process.version, seconds: (performance.now() - t0) / 1000, load: [loadStart, os.loadavg()[0]] },
    };
    console.log("\n" + renderGpuConsole(results));
    const out = join(process.cwd(), "test", "bench", "RESULTS-webgpu.md");
    writeFileSync(out, renderGpuResults(results));
    console.log(`bench: wrote ${out}`);
  } finally {
    // Neither Dawn's pending callbacks nor an unref'd device thread keep Node's event loop
    // alive: without this timer, a close still waiting on them would end the process silently.
    const alive = setInterval(() => {}, 1000);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), CLOSE_TIMEOUT_MS)));
    try {
      if ((await Promise.race([closeGpus(jax), late])) === "late") console.error(`bench: the devices did not close within ${CLOSE_TIMEOUT_MS / 1000} s; exiting anyway`);
    } finally {
      clearInterval(alive);
      clearTimeout(timer);
    }
  }
}

/** Parses `--sizes 1024,4096` (or `--sizes=...`); null when absent. */
export function parseSizes(argv: string[]): number[] | null {
  const i = argv.findIndex((a) => a === "--sizes" || a.startsWith("--sizes="));
  if (i < 0) return null;
  const text = argv[i].includes("=") ? argv[i].slice(argv[i].indexOf("=") + 1) : argv[i + 1];
  const sizes = (text ?? "").split(",").map((s) => Number(s.trim()));
  if (!sizes.length || sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`bench: --sizes expects positive integers separated by commas, got ${JSON.stringify(text)}`);
  return sizes;
}
