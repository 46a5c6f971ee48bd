// The array workloads of the benchmark, each written for Primal, jax-js and TensorFlow.js on
// the same seeded float32 inputs: the fused elementwise chain tanh(x*2+1)*x (1M, 4M), the
// 16M-element reductions sum/max/logsumexp, and the eager per-op rows (add, multiply, exp,
// tanh, ..., argmax) that show per-primitive speed; and `row`, which times one workload in the
// three libraries side by side (matmul.ts uses it too).
//
// Every timed call produces its result, waits for it (blockUntilReady: jax-js is lazy) and
// disposes it, in every library, so the loops measure the computation and not the garbage
// collector. TensorFlow.js's wasm and cpu backends run each op synchronously when it is called,
// so its result is ready on return and is not copied out (that would add a copy the others do
// not pay). Primal's "jit" rows go through `jit`, and the compile probe records whether the
// compiler really compiled them.

import { NDArray, jit, nn, np } from "../../kernel/index";
import { CompileInfo, probeCompile } from "./compile-probe";
import { MeasureOptions, Timing, measureAll, uniform } from "./measure";
import type { JaxJs, Peers, Tfjs } from "./peers";
import { tryPeer } from "./peers";

type JArr = InstanceType<JaxJs["Array"]>;
type TfTensor = import("@tensorflow/tfjs").Tensor;

/** One line of a detailed table. */
export interface Row {
  op: string;
  size: string;
  /** Elements or flops per call. */
  work: number;
  unit: "GFLOP/s" | "Melem/s";
  /** Primal in the section's headline mode (jit for the jitted sections, eager otherwise). */
  primal: Timing;
  /** Primal in the other mode (eager for the jitted sections), where measured. */
  primalAlt: Timing | null;
  jax: Timing | null;
  tf: Timing | null;
  /** For Primal's jitted rows: what the compiler made of the function. */
  compile: CompileInfo | null;
  /** Each library's largest relative error against a float64 recomputation, where checked. */
  errors: { primal: number; jax: number | null; tf: number | null } | null;
}

const done = async (r: NDArray) => {
  await r.blockUntilReady();
  r.dispose();
};
const jdone = async (r: JArr) => {
  await r.blockUntilReady();
  r.dispose();
};

/** Largest |a-b| / max(|b|, 1e-3·max|b|): relative where values are large, absolute near zero. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3 * scale, 1e-30));
  return worst;
}

/** A row's three implementations; each returns its result (not yet waited for). */
export interface Impl {
  primal: () => NDArray;
  /** Primal's headline mode is jit: the fresh jitted function is probed on its first call. */
  primalJit?: boolean;
  primalAlt?: () => NDArray;
  jax?: () => JArr;
  tf?: () => TfTensor;
  /** The exact values, computed in float64 from the same inputs: every library's result (one untimed call each) is compared with them. */
  reference?: () => ArrayLike<number>;
}

/**
 * Times one workload in the three libraries side by side (plus Primal's other mode), after
 * probing Primal's compiler on a jitted row's first call; optionally compares the values.
 */
export async function row(peers: Peers, op: string, size: string, work: number, unit: Row["unit"], impl: Impl, opts: MeasureOptions): Promise<Row> {
  let compile: CompileInfo | null = null;
  if (impl.primalJit) compile = (await probeCompile(() => done(impl.primal()))).info;
  const what = `${op} ${size}`;
  const [primal, primalAlt, jax, tf] = await measureAll(
    [
      { label: `Primal ${what}`, fn: () => done(impl.primal()) },
      { label: `Primal (other mode) ${what}`, fn: impl.primalAlt && (() => done(impl.primalAlt!())) },
      { label: `jax-js ${what}`, fn: peers.jax && impl.jax && (() => jdone(impl.jax!())) },
      { label: `tfjs ${what}`, fn: peers.tf && impl.tf && (() => impl.tf!().dispose()) },
    ],
    opts,
    peers.notes,
  );
  if (!primal) throw new Error(`bench: Primal ${what} failed (see above)`);
  const errors = impl.reference ? await compare(peers, what, impl, impl.reference(), jax !== null, tf !== null) : null;
  const ms = (t: Timing | null) => (t ? `${t.medianMs.toFixed(2)} ms` : "-");
  console.log(`${what}: primal ${ms(primal)}${primalAlt ? ` (other mode ${ms(primalAlt)})` : ""}, jax-js ${ms(jax)}, tfjs ${ms(tf)}`);
  return { op, size, work, unit, primal, primalAlt, jax, tf, compile, errors };
}

/** One untimed call of each library, compared with the float64 reference. */
async function compare(peers: Peers, what: string, impl: Impl, ref: ArrayLike<number>, jaxRan: boolean, tfRan: boolean): Promise<Row["errors"]> {
  const p = impl.primal();
  const primal = maxRelDiff(p.dataSync() as ArrayLike<number>, ref);
  p.dispose();
  const jax = jaxRan && impl.jax ? await tryPeer(`jax-js ${what} (values)`, peers.notes, async () => maxRelDiff(await impl.jax!().data(), ref)) : null;
  const tf = tfRan && impl.tf
    ? await tryPeer(`tfjs ${what} (values)`, peers.notes, async () => {
        const r = impl.tf!();
        const d = maxRelDiff(r.dataSync(), ref);
        r.dispose();
        return d;
      })
    : null;
  return { primal, jax, tf };
}

/** tanh(x*2+1)*x, jitted (Primal jit, jax-js jit; tfjs tidy, which frees intermediates but does not fuse). */
export async function fusedRows(peers: Peers): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of [1 << 20, 1 << 22]) {
    const xv = uniform(n, 30 + n);
    const x = np.array(xv);
    const f = (v: NDArray) => np.tanh(v.mul(2).add(1)).mul(v);
    const pj = jit(f);
    const jx = peers.jax?.lib;
    const jxv = jx?.numpy.array(xv);
    const jf = jx?.jit((v: JArr) => jx.numpy.tanh(v.ref.mul(2).add(1)).mul(v));
    const tf = peers.tf?.lib;
    const tx = tf?.tensor1d(xv);
    rows.push(
      await row(peers, "tanh(x*2+1)*x", `${n >> 20}M`, n, "Melem/s", {
        primal: () => pj(x),
        primalJit: true,
        primalAlt: () => f(x),
        jax: jf && (() => jf(jxv!.ref)),
        tf: tf && (() => tf.tidy(() => tf.mul(tf.tanh(tf.add(tf.mul(tx!, 2), 1)), tx!))),
        reference: () => Float64Array.from(xv, (v) => Math.tanh(v * 2 + 1) * v),
      }, { budgetMs: 1000 }),
    );
    jf?.dispose();
    jxv?.dispose();
    tx?.dispose();
  }
  return rows;
}

/** sum, max and logsumexp of 16M elements: Primal jitted (headline) and eager; jax-js jitted; tfjs. */
export async function reductionRows(peers: Peers): Promise<Row[]> {
  const n = 1 << 24;
  const xv = uniform(n, 40);
  const x = np.array(xv);
  const jx = peers.jax?.lib;
  const jxv = jx?.numpy.array(xv);
  const tf = peers.tf?.lib;
  const tx = tf?.tensor1d(xv);
  // float64 references, accumulated in order (the error of a float64 sum of 16M terms is far below float32's).
  const sum64 = (g: (v: number) => number) => xv.reduce((s, v) => s + g(v), 0);
  const max64 = () => xv.reduce((m, v) => Math.max(m, v), -Infinity);
  const defs: [string, (v: NDArray) => NDArray, ((v: JArr) => JArr) | undefined, ((t: TfTensor) => TfTensor) | undefined, () => number][] = [
    ["sum", (v) => np.sum(v), jx && ((v) => jx.numpy.sum(v)), tf && ((t) => tf.sum(t)), () => sum64((v) => v)],
    ["max", (v) => np.max(v), jx && ((v) => jx.numpy.max(v)), tf && ((t) => tf.max(t)), max64],
    ["logsumexp", (v) => nn.logsumexp(v), jx && ((v) => jx.nn.logsumexp(v)), tf && ((t) => tf.logSumExp(t)), () => {
      const m = max64();
      return m + Math.log(sum64((v) => Math.exp(v - m)));
    }],
  ];
  const rows: Row[] = [];
  for (const [op, f, jfn, tfn, ref] of defs) {
    const pj = jit(f);
    const jf = jx && jfn ? jx.jit(jfn) : undefined;
    rows.push(
      await row(peers, op, "16M", n, "Melem/s", {
        primal: () => pj(x),
        primalJit: true,
        primalAlt: () => f(x),
        jax: jf && (() => jf(jxv!.ref)),
        tf: tfn && (() => tfn(tx!)),
        reference: () => [ref()],
      }, { budgetMs: 1000 }),
    );
    jf?.dispose();
  }
  jxv?.dispose();
  tx?.dispose();
  return rows;
}

/** The eager per-op rows on 1M float32 elements (each op runs on its own; no jit anywhere). */
export async function eagerOpRows(peers: Peers): Promise<Row[]> {
  const n = 1 << 20;
  const xv = uniform(n, 50);
  const yv = uniform(n, 51);
  const [x, y] = [np.array(xv), np.array(yv)];
  const jx = peers.jax?.lib;
  const [jxv, jyv] = jx ? [jx.numpy.array(xv), jx.numpy.array(yv)] : [undefined, undefined];
  const tf: Tfjs | undefined = peers.tf?.lib;
  const [tx, ty] = tf ? [tf.tensor1d(xv), tf.tensor1d(yv)] : [undefined, undefined];
  const jnp = jx?.numpy;
  const J = (f: (a: JArr, b: JArr) => JArr) => (jnp ? () => f(jxv!.ref, jyv!.ref) : undefined);
  const T = (f: (a: TfTensor, b: TfTensor) => TfTensor) => (tf ? () => tf.tidy(() => f(tx!, ty!)) : undefined);
  const defs: [string, (a: NDArray, b: NDArray) => NDArray, (() => JArr) | undefined, (() => TfTensor) | undefined][] = [
    ["add", (a, b) => np.add(a, b), J((a, b) => jnp!.add(a, b)), T((a, b) => tf!.add(a, b))],
    ["multiply", (a, b) => np.multiply(a, b), J((a, b) => jnp!.multiply(a, b)), T((a, b) => tf!.mul(a, b))],
    ["exp", (a) => np.exp(a), J((a, b) => (b.dispose(), jnp!.exp(a))), T((a) => tf!.exp(a))],
    ["tanh", (a) => np.tanh(a), J((a, b) => (b.dispose(), jnp!.tanh(a))), T((a) => tf!.tanh(a))],
    ["x * 2 + 1", (a) => a.mul(2).add(1), J((a, b) => (b.dispose(), jnp!.add(jnp!.multiply(a, 2), 1))), T((a) => tf!.add(tf!.mul(a, 2), 1))],
    ["sum", (a) => np.sum(a), J((a, b) => (b.dispose(), jnp!.sum(a))), T((a) => tf!.sum(a))],
    ["max", (a) => np.max(a), J((a, b) => (b.dispose(), jnp!.max(a))), T((a) => tf!.max(a))],
    ["argmax", (a) => np.argmax(a), J((a, b) => (b.dispose(), jnp!.argmax(a))), T((a) => tf!.argMax(a))],
    ["sum(axis=1) of 1024×1024", (a) => np.sum(a.reshape([1024, 1024]), 1), J((a, b) => (b.dispose(), jnp!.sum(jnp!.reshape(a, [1024, 1024]), 1))), T((a) => tf!.sum(tf!.reshape(a, [1024, 1024]), 1))],
  ];
  const rows: Row[] = [];
  for (const [op, f, jf, tfn] of defs) rows.push(await row(peers, op, "1M", n, "Melem/s", { primal: () => f(x, y), jax: jf, tf: tfn }, { budgetMs: 600 }));
  jxv?.dispose();
  jyv?.dispose();
  tx?.dispose();
  ty?.dispose();
  return rows;
}
