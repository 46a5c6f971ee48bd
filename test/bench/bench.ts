// `npm run bench`: eager throughput of Primal's CPU backend, side by side with @jax-js/jax
// (wasm backend) measured in the same process. Medians after warm-up. Writes the table to
// test/bench/RESULTS.md. Not a test: nothing here asserts a time.

import { writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { disableJit, jit, nn, np, random, tree, valueAndGrad } from "../../kernel/index";
import type { NDArray } from "../../kernel/core/ndarray";
import { DEFAULT_BLOCKING, WasmSgemm, defaultShape, defaultThreads, hasRelaxedSimd } from "../../kernel/backends/cpu/gemm";

interface Row {
  op: string;
  size: string;
  primalMs: number;
  peerMs: number | null;
  /** Work per call, to report throughput: elements or flops. */
  work: number;
  unit: "Melem/s" | "GFLOP/s";
}

/** Median of timed calls after warm-up; the number of calls adapts to the op's duration. */
async function measure(fn: () => Promise<unknown> | unknown, budgetMs = 1500): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || (performance.now() - start < budgetMs && times.length < 50)) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

type JaxJs = typeof import("@jax-js/jax");
async function loadPeer(): Promise<JaxJs | null> {
  try {
    const jj: JaxJs = await import("@jax-js/jax");
    await jj.init("wasm");
    jj.defaultDevice("wasm");
    return jj;
  } catch (e) {
    console.error(`bench: @jax-js/jax unavailable (${(e as Error).message}); its column stays empty`);
    return null;
  }
}

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

async function main(): Promise<void> {
  const peer = await loadPeer();
  const rows: Row[] = [];
  const N = 1 << 20;
  const xa = rand(N);
  const ya = rand(N);
  const x = np.array(xa);
  const y = np.array(ya);
  const px = peer?.numpy.array(xa);
  const py = peer?.numpy.array(ya);
  const ready = async (a: NDArray) => a.blockUntilReady();

  type PeerArr = NonNullable<typeof px>;
  const elementwise: [string, (a: NDArray, b: NDArray) => NDArray, ((a: PeerArr, b: PeerArr) => PeerArr) | null][] = [
    ["add", (a, b) => np.add(a, b), (a, b) => peer!.numpy.add(a.ref, b.ref)],
    ["multiply", (a, b) => np.multiply(a, b), (a, b) => peer!.numpy.multiply(a.ref, b.ref)],
    ["exp", (a) => np.exp(a), (a) => peer!.numpy.exp(a.ref)],
    ["tanh", (a) => np.tanh(a), (a) => peer!.numpy.tanh(a.ref)],
    ["x * 2 + 1", (a) => a.mul(2).add(1), (a) => peer!.numpy.add(peer!.numpy.multiply(a.ref, 2), 1)],
    ["sum", (a) => np.sum(a), (a) => peer!.numpy.sum(a.ref)],
    ["max", (a) => np.max(a), (a) => peer!.numpy.max(a.ref)],
    ["argmax", (a) => np.argmax(a), (a) => peer!.numpy.argmax(a.ref)],
    ["sum(axis=1) of 1024x1024", (a) => np.sum(a.reshape([1024, 1024]), { axis: 1 }), (a) => peer!.numpy.sum(peer!.numpy.reshape(a.ref, [1024, 1024]), 1)],
  ];
  for (const [op, f, pf] of elementwise) {
    const primalMs = await measure(() => ready(f(x, y)));
    let peerMs: number | null = null;
    if (peer && pf && px && py) {
      try {
        peerMs = await measure(async () => {
          const r = pf(px, py);
          await r.blockUntilReady();
          r.dispose();
        });
      } catch (e) {
        console.error(`bench: jax-js ${op} failed: ${(e as Error).message}`);
      }
    }
    rows.push({ op, size: "1M f32", primalMs, peerMs, work: N, unit: "Melem/s" });
    console.log(`${op}: primal ${primalMs.toFixed(2)} ms, jax-js ${peerMs?.toFixed(2) ?? "-"} ms`);
  }

  for (const n of [256, 512, 1024, 2048]) {
    const a = np.array(rand(n * n)).reshape([n, n]);
    const b = np.array(rand(n * n)).reshape([n, n]);
    const primalMs = await measure(() => ready(np.matmul(a, b)), 3000);
    let peerMs: number | null = null;
    if (peer) {
      const pa = peer.numpy.reshape(peer.numpy.array(rand(n * n)), [n, n]);
      const pb = peer.numpy.reshape(peer.numpy.array(rand(n * n)), [n, n]);
      peerMs = await measure(async () => {
        const r = peer.numpy.matmul(pa.ref, pb.ref);
        await r.blockUntilReady();
        r.dispose();
      }, 3000);
    }
    rows.push({ op: "matmul", size: `${n}x${n} f32`, primalMs, peerMs, work: 2 * n ** 3, unit: "GFLOP/s" });
    console.log(`matmul ${n}: primal ${primalMs.toFixed(2)} ms, jax-js ${peerMs?.toFixed(2) ?? "-"} ms`);
  }

  const mlp = await mlpBench();
  const gemm = await gemmThreadsBench();

  const thr = (r: Row, ms: number) => (r.unit === "GFLOP/s" ? r.work / ms / 1e6 : r.work / ms / 1e3);
  const lines = [
    "# Benchmark results",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench\` on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}.`,
    "Eager mode (every op runs on its own, no jit), CPU backend. Medians after 2 warm-up calls.",
    "Peer: @jax-js/jax 0.1.25, `wasm` backend, in the same process. Ratio = jax-js time / Primal time (above 1: Primal is faster).",
    "",
    "| op | size | Primal (ms) | jax-js wasm (ms) | ratio | Primal throughput |",
    "|---|---|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.op} | ${r.size} | ${r.primalMs.toFixed(2)} | ${r.peerMs?.toFixed(2) ?? "n/a"} | ${r.peerMs ? (r.peerMs / r.primalMs).toFixed(2) : "n/a"} | ${thr(r, r.primalMs).toFixed(1)} ${r.unit} |`),
    "",
    `Primal's float32 matmul is the WebAssembly SIMD GEMM of kernel/backends/cpu/gemm.ts on ${gemm.threads} thread(s) (times include copying operands in and the result out).`,
    "",
    "## The float32 GEMM alone (operands already in its memory), GFLOP/s",
    "",
    "| threads | 256 | 512 | 1024 | 2048 |",
    "|---|---:|---:|---:|---:|",
    ...gemm.rows.map(([t, g]) => `| ${t} | ${g.map((x) => x.toFixed(1)).join(" | ")} |`),
    "",
    `Micro-kernel ${gemm.kernel}. Scaling at 1024: ${gemm.scaling.toFixed(2)}× (${gemm.threads} threads vs 1).`,
    "",
    "## Transformations: the MLP training step (728-100-10, relu, MSE, batch 32, valueAndGrad + SGD)",
    "",
    "| measure | Primal |",
    "|---|---:|",
    `| jit trace (first call: trace + run) | ${mlp.firstCallMs.toFixed(1)} ms |`,
    `| jit cache-hit call overhead (tiny function, median) | ${(mlp.hitOverheadMs * 1000).toFixed(1)} µs |`,
    `| MLP step, eager (jit disabled) | ${(1000 / mlp.eagerMs).toFixed(1)} steps/s (${mlp.eagerMs.toFixed(2)} ms) |`,
    `| MLP step, jitted | ${(1000 / mlp.jitMs).toFixed(1)} steps/s (${mlp.jitMs.toFixed(2)} ms) |`,
    "",
    "Jitted programs still run primitive by primitive on the CPU (the compiler is issue 4), so jit saves the tracing and dispatch work of grad, not kernel time.",
    "",
  ];
  const table = lines.join("\n");
  console.log("\n" + table);
  writeFileSync(join(process.cwd(), "test", "bench", "RESULTS.md"), table);
}

/** GFLOP/s of the GEMM alone (square, row-major, in its memory) on 1 thread and on all of them. */
async function gemmThreadsBench(): Promise<{ threads: number; rows: [number, number[]][]; scaling: number; kernel: string }> {
  const threads = defaultThreads();
  const shape = defaultShape(hasRelaxedSimd());
  const rows: [number, number[]][] = [];
  for (const t of threads > 1 ? [1, threads] : [1]) {
    const g = new WasmSgemm(shape, DEFAULT_BLOCKING, t);
    const gf: number[] = [];
    for (const n of [256, 512, 1024, 2048]) {
      const at = g.heap / 4;
      g.reserve(4 * 3 * n * n);
      g.f32.set(rand(2 * n * n), at);
      const [a, b, c] = [0, 1, 2].map((i) => ({ offset: 4 * (at + i * n * n), rs: n, cs: 1 }));
      gf.push((2 * n ** 3) / (await measure(() => g.run(n, n, n, a, b, c), 3000)) / 1e6);
    }
    rows.push([t, gf]);
    console.log(`gemm alone, ${t} thread(s): ${gf.map((x) => x.toFixed(1)).join(" ")} GFLOP/s`);
  }
  const scaling = rows.length > 1 ? rows[1][1][2] / rows[0][1][2] : 1;
  return { threads, rows, scaling, kernel: `${shape.mr}x${shape.nr} ${shape.relaxed ? "relaxed_madd" : "mul+add"}` };
}

/** The MLP step of examples/mlp.ts, eager and jitted, and the cost of jit itself. */
async function mlpBench(): Promise<{ firstCallMs: number; hitOverheadMs: number; eagerMs: number; jitMs: number }> {
  type P = { w1: NDArray; b1: NDArray; w2: NDArray; b2: NDArray };
  const [kx, k1, k2] = random.split(random.key(0), 3);
  const X = random.normal(kx, [32, 728]);
  const Y = np.zeros([32, 10]);
  const params: P = { w1: nn.initializers.heNormal()(k1, [728, 100]), b1: np.zeros([100]), w2: nn.initializers.heNormal()(k2, [100, 10]), b2: np.zeros([10]) };
  const predict = (p: P, x: NDArray) => np.matmul(nn.relu(np.matmul(x, p.w1).add(p.b1)), p.w2).add(p.b2);
  const loss = (p: P, x: NDArray, y: NDArray) => np.mean(predict(p, x).sub(y).pow(2));
  const stepFn = (p: P, x: NDArray, y: NDArray) => {
    const [l, g] = valueAndGrad(loss)(p, x, y);
    return [tree.map((w: NDArray, gw: NDArray) => w.sub(gw.mul(0.01)), p, g), l];
  };
  const jitted = jit(stepFn);
  const t0 = performance.now();
  await (jitted(params, X, Y)[1] as NDArray).blockUntilReady();
  const firstCallMs = performance.now() - t0;
  const jitMs = await measure(async () => (jitted(params, X, Y)[1] as NDArray).blockUntilReady());
  const eagerMs = await measure(async () => disableJit(() => (stepFn(params, X, Y)[1] as NDArray).blockUntilReady()));
  const tiny = jit((a: NDArray) => a);
  const one = np.ones([1]);
  const hitOverheadMs = await measure(() => tiny(one), 500);
  console.log(`mlp: first call ${firstCallMs.toFixed(1)} ms, jit ${jitMs.toFixed(2)} ms/step, eager ${eagerMs.toFixed(2)} ms/step, jit hit ${(hitOverheadMs * 1000).toFixed(1)} µs`);
  return { firstCallMs, hitOverheadMs, eagerMs, jitMs };
}

void main();
