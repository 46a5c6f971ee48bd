// The compiler against the interpreter on a generated family of programs: a seeded generator
// builds random programs from unary, binary (with broadcasting and JS scalars), comparison +
// where, reduction (over inner, outer, all axes, keepdims), view (transpose, reshape,
// broadcast, slice, flip, squeeze), cast and library ops (cumsum, argmax, matmul, sort,
// concatenate), over float32, float16, bfloat16, int32, uint8 and bool values with special
// values (0, -0, inf, nan) mixed in. Each program runs jitted (compiled into fused kernels) and
// with jit disabled (every primitive on its own); the results must agree bit for bit (NaN
// payloads aside): kernel/lower/kernel-ir.ts promises that a fused kernel computes the same
// bits as the primitives run one by one, and codegen-js.ts that reductions fold in the eager
// order, in float64, so sums agree to the bit. A failure prints the program.

import { describe, expect, it } from "vitest";
import { jit, lax, nn, np } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { disableJit } from "../../kernel/transforms/jit";
import { eager, exactTreeDiff, recordOf, rng } from "./helpers/compiled";

type Rand = () => number;
interface Step {
  text: string;
  apply: (vals: NDArray[]) => NDArray;
}
interface Program {
  inputs: NDArray[];
  steps: Step[];
  outputs: number[];
}

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chance = (r: Rand, p: number) => r() < p;
const isFloat = (x: NDArray) => x.dtype.isFloat;
const isInt = (x: NDArray) => x.dtype.isInt;

/** Sizes of a family: the axis lengths drawn, and the largest value a step may make. */
interface Sizes {
  dims: readonly number[];
  maxSize: number;
}
/** Small programs: every kernel has fewer than 2048 points (the runtime runs them as JS). */
const SMALL: Sizes = { dims: [1, 2, 3, 4, 5], maxSize: 2047 };
/** Larger programs, whose bigger kernels the runtime may run as WebAssembly. */
const LARGE: Sizes = { dims: [1, 16, 40, 64, 128], maxSize: 1 << 16 };

function randShape(r: Rand, z: Sizes): number[] {
  const rank = pick(r, [0, 1, 1, 2, 2, 2, 3, 3]);
  for (;;) {
    const s = Array.from({ length: rank }, () => (chance(r, 0.03) ? 0 : pick(r, z.dims)));
    if (s.reduce((a, b) => a * b, 1) <= z.maxSize) return s;
  }
}
const SPECIALS = [0, -0, Infinity, -Infinity, NaN, 1e30, -1e-30, 0.5, 65504];
function randInput(r: Rand, shape: number[]): NDArray {
  const size = shape.reduce((a, b) => a * b, 1);
  const kind = pick(r, ["float32", "float32", "float32", "float32", "float32", "int32", "int32", "float16", "bfloat16", "uint8", "bool"] as const);
  const data = Array.from({ length: size }, () => {
    if (kind === "bool") return r() < 0.5 ? 1 : 0;
    if (kind === "int32") return Math.floor(r() * 41) - 20;
    if (kind === "uint8") return Math.floor(r() * 256);
    if (chance(r, 0.1)) return pick(r, SPECIALS);
    return Math.round((r() * 6 - 3) * 1000) / 1000;
  });
  const flat = kind === "bool" ? np.array(data.map((v) => v === 1)) : np.array(data, { dtype: kind });
  return flat.reshape(shape);
}

/** A shape that broadcasts against `s`: a suffix of it, some axes set to 1. */
function broadcastable(r: Rand, s: readonly number[]): number[] {
  const k = Math.floor(r() * (s.length + 1));
  return s.slice(s.length - k).map((n) => (chance(r, 0.3) ? 1 : n));
}

function axesOf(r: Rand, ndim: number): number[] | null {
  if (ndim === 0 || chance(r, 0.2)) return null;
  const axes = Array.from({ length: ndim }, (_, i) => i).filter(() => chance(r, 0.5));
  return axes.length ? axes : [Math.floor(r() * ndim)];
}

/** Factorisations of n into `parts` factors (for reshapes). */
function randFactor(r: Rand, n: number): number[] {
  if (n === 0) return [0, pick(r, [1, 2])];
  const out: number[] = [];
  let rest = n;
  for (let d = 2; d <= rest; d++) while (rest % d === 0 && chance(r, 0.6)) (out.push(d), (rest /= d));
  out.push(rest);
  return chance(r, 0.3) ? [1, ...out] : out;
}

const UNARY_F: [string, (x: NDArray) => NDArray][] = [
  ["neg", (x) => np.negative(x)], ["abs", (x) => np.abs(x)], ["exp", (x) => np.exp(x)], ["tanh", (x) => np.tanh(x)],
  ["sin", (x) => np.sin(x)], ["cos", (x) => np.cos(x)], ["log1p|x|", (x) => np.log1p(np.abs(x))], ["sqrt|x|", (x) => np.sqrt(np.abs(x))],
  ["square", (x) => np.square(x)], ["floor", (x) => np.floor(x)], ["ceil", (x) => np.ceil(x)], ["sign", (x) => np.sign(x)],
  ["sigmoid", (x) => nn.sigmoid(x)], ["expm1", (x) => np.expm1(x)], ["atan", (x) => np.arctan(x)], ["erf", (x) => lax.erf(x)],
  ["round", (x) => np.round(x)], ["rsqrt(|x|+1)", (x) => lax.rsqrt(np.abs(x).add(1))], ["cbrt", (x) => np.cbrt(x)],
  ["x^3", (x) => lax.integerPow(x, 3)], ["1/x", (x) => np.reciprocal(x)], ["relu", (x) => nn.relu(x)], ["log", (x) => np.log(x)],
  ["finite?x:0", (x) => np.where(np.isfinite(x), x, 0)], ["softplus", (x) => nn.softplus(x)], ["gelu", (x) => nn.gelu(x)],
];
const UNARY_I: [string, (x: NDArray) => NDArray][] = [
  ["neg", (x) => np.negative(x)], ["abs", (x) => np.abs(x)], ["square", (x) => np.square(x)], ["sign", (x) => np.sign(x)],
  ["~x", (x) => np.bitwiseNot(x)], ["x<<2", (x) => np.leftShift(x, 2)], ["x>>1", (x) => np.rightShift(x, 1)], ["x^3", (x) => lax.integerPow(x, 3)],
];
const BINARY: [string, (a: NDArray, b: NDArray | number) => NDArray][] = [
  ["add", (a, b) => np.add(a, b)], ["sub", (a, b) => np.subtract(a, b)], ["mul", (a, b) => np.multiply(a, b)], ["div", (a, b) => np.divide(a, b)],
  ["maximum", (a, b) => np.maximum(a, b)], ["minimum", (a, b) => np.minimum(a, b)], ["power", (a, b) => np.power(a, b)],
  ["arctan2", (a, b) => np.arctan2(a, b)], ["fmod", (a, b) => np.fmod(a, b)], ["remainder", (a, b) => np.remainder(a, b)],
  ["floorDivide", (a, b) => np.floorDivide(a, b)], ["logaddexp", (a, b) => np.logaddexp(a, b)], ["nextafter", (a, b) => np.nextafter(a, b)],
  ["a>b?a:b", (a, b) => np.where(np.greater(a, b), a, b)], ["a<=b&a!=0", (a, b) => np.logicalAnd(np.lessEqual(a, b), np.notEqual(a, 0))],
  ["clip", (a, b) => np.clip(a, b, 2)],
];
const REDUCE: [string, (x: NDArray, axis: number[] | null, keepdims: boolean) => NDArray][] = [
  ["sum", (x, axis, keepdims) => np.sum(x, { axis, keepdims })], ["max", (x, axis, keepdims) => np.max(x, { axis, keepdims })],
  ["min", (x, axis, keepdims) => np.min(x, { axis, keepdims })], ["prod", (x, axis, keepdims) => np.prod(x, { axis, keepdims })],
  ["mean", (x, axis, keepdims) => np.mean(x, { axis, keepdims })], ["var", (x, axis, keepdims) => np.var(x, { axis, keepdims })],
  ["logsumexp", (x, axis, keepdims) => nn.logsumexp(x, { axis, keepdims })], ["any", (x, axis, keepdims) => np.any(x, { axis, keepdims })],
  ["all", (x, axis, keepdims) => np.all(x, { axis, keepdims })],
  // A reduction broadcast back against its operand (softmax-like): the reduced value is read under a broadcast view.
  ["x-max(x)", (x, axis) => np.subtract(x, np.max(x, { axis, keepdims: true }))],
  ["x/sum(x)", (x, axis) => np.divide(x, np.sum(x, { axis, keepdims: true }))],
  ["softmax", (x, axis) => nn.softmax(x, { axis: axis ?? -1 })],
  ["standardize", (x, axis) => nn.standardize(x, { axis: axis ?? -1 })],
];
const CASTS = ["float32", "float32", "int32", "float16", "bfloat16", "uint8", "bool"] as const;

/** One random step on the values so far, or null when the drawn op does not apply. */
function randStep(r: Rand, vals: NDArray[]): Step | null {
  // Recent values are likelier operands, so programs grow chains rather than fans.
  const idx = Math.max(0, vals.length - 1 - Math.floor(r() * r() * vals.length));
  const x = vals[idx];
  const v = `v${idx}`;
  const kind = pick(r, ["unary", "unary", "unary", "binary", "binary", "binary", "reduce", "reduce", "view", "view", "view", "cast", "library"]);
  switch (kind) {
    case "unary": {
      const [name, f] = pick(r, isInt(x) ? UNARY_I : isFloat(x) ? UNARY_F : [["!x", (a: NDArray) => np.logicalNot(a)] as [string, (a: NDArray) => NDArray]]);
      return { text: `${name}(${v})`, apply: (vs) => f(vs[idx]) };
    }
    case "binary": {
      const [name, f] = pick(r, BINARY);
      if (chance(r, 0.3)) {
        const c = pick(r, [2, 0.5, -1.5, 3, 0]);
        return { text: `${name}(${v}, ${c})`, apply: (vs) => f(vs[idx], c) };
      }
      const others = vals.map((_, i) => i).filter((i) => i !== idx);
      const j = others.length && chance(r, 0.7) ? pick(r, others) : idx;
      return { text: `${name}(${v}, v${j})`, apply: (vs) => f(vs[idx], vs[j]) };
    }
    case "reduce": {
      const [name, f] = pick(r, REDUCE);
      const axis = axesOf(r, x.ndim);
      const keepdims = chance(r, 0.3);
      return { text: `${name}(${v}, axis=${JSON.stringify(axis)}, keepdims=${keepdims})`, apply: (vs) => f(vs[idx], axis, keepdims) };
    }
    case "view": {
      const n = x.ndim;
      const view = pick(r, ["transpose", "reshape", "broadcast", "slice", "flip", "squeeze", "expand"]);
      if (view === "transpose" && n >= 2) {
        const perm = Array.from({ length: n }, (_, i) => i).sort(() => r() - 0.5);
        return { text: `transpose(${v}, ${perm})`, apply: (vs) => np.transpose(vs[idx], perm) };
      }
      if (view === "reshape") {
        const shape = randFactor(r, x.size);
        return { text: `reshape(${v}, [${shape}])`, apply: (vs) => np.reshape(vs[idx], shape) };
      }
      if (view === "broadcast") {
        const lead = pick(r, [2, 3]);
        return { text: `broadcastTo(${v}, [${lead}, ${x.shape}])`, apply: (vs) => np.broadcastTo(vs[idx], [lead, ...vs[idx].shape]) };
      }
      if (view === "slice" && n >= 1) {
        const items = x.shape.map((d) => pick(r, [":", "1:", "::2", ":-1", "::-1", d > 1 ? "1:3" : ":"]));
        return { text: `${v}[${items.join(", ")}]`, apply: (vs) => vs[idx].get(...items) };
      }
      if (view === "flip" && n >= 1) {
        const axis = Math.floor(r() * n);
        return { text: `flip(${v}, ${axis})`, apply: (vs) => np.flip(vs[idx], axis) };
      }
      if (view === "squeeze" && x.shape.includes(1)) return { text: `squeeze(${v})`, apply: (vs) => np.squeeze(vs[idx]) };
      const axis = Math.floor(r() * (n + 1));
      return { text: `expandDims(${v}, ${axis})`, apply: (vs) => np.expandDims(vs[idx], axis) };
    }
    case "cast": {
      const d = pick(r, CASTS);
      return { text: `astype(${v}, ${d})`, apply: (vs) => vs[idx].astype(d) };
    }
    default: {
      const lib = pick(r, ["cumsum", "argmax", "matmul", "sort", "concatenate"]);
      if (x.ndim === 0) return null;
      const axis = Math.floor(r() * x.ndim);
      if (lib === "cumsum") return { text: `cumsum(${v}, ${axis})`, apply: (vs) => np.cumsum(vs[idx], axis) };
      if (lib === "argmax") return { text: `argmax(${v}, ${axis})`, apply: (vs) => np.argmax(vs[idx], axis) };
      if (lib === "sort") return { text: `sort(${v}, ${axis})`, apply: (vs) => np.sort(vs[idx], axis) };
      if (lib === "concatenate") return { text: `concatenate([${v}, ${v}], ${axis})`, apply: (vs) => np.concatenate([vs[idx], np.negative(vs[idx])], axis) };
      if (x.dtype.isBool) return null;
      return { text: `matmul(${v}, ${v}.mT)`, apply: (vs) => (vs[idx].ndim === 1 ? np.matmul(vs[idx], vs[idx]) : np.matmul(vs[idx], np.swapaxes(vs[idx], -1, -2))) };
    }
  }
}

/** A random program: 1-3 inputs (the later ones broadcastable against the first), 3-10 steps, 1-3 outputs. */
function randProgram(seed: number, z: Sizes): Program {
  const r = rng(seed);
  const s0 = randShape(r, z);
  const inputs = [randInput(r, s0)];
  const nIn = pick(r, [1, 2, 2, 3]);
  while (inputs.length < nIn) inputs.push(randInput(r, chance(r, 0.7) ? broadcastable(r, s0) : randShape(r, z)));
  const vals = [...inputs];
  const steps: Step[] = [];
  const nSteps = 3 + Math.floor(r() * 8);
  for (let tries = 0; steps.length < nSteps && tries < 100; tries++) {
    const s = randStep(r, vals);
    if (!s) continue;
    let out: NDArray;
    try {
      out = disableJit(() => s.apply(vals));
    } catch {
      continue; // the drawn op does not apply to these shapes or dtypes
    }
    if (out.size > z.maxSize || (out.ndim > 0 && out.size > 0 && s.text.startsWith("matmul") && vals[vals.length - 1].size * out.shape[out.ndim - 1] > 8 * z.maxSize)) continue;
    steps.push(s);
    vals.push(out);
  }
  const last = vals.length - 1;
  const outputs = [last];
  if (chance(r, 0.5) && last > 0) outputs.push(Math.floor(r() * last));
  if (chance(r, 0.15)) outputs.push(0);
  return { inputs, steps, outputs };
}

function programText(p: Program): string {
  const ins = p.inputs.map((x, i) => `v${i}: ${x.aval.str()}`);
  const body = p.steps.map((s, i) => `  v${p.inputs.length + i} = ${s.text}`);
  return `(${ins.join(", ")}) =>\n${body.join("\n")}\n  return [${p.outputs.map((o) => `v${o}`).join(", ")}]`;
}

function programFn(p: Program): (...xs: NDArray[]) => NDArray[] {
  return (...xs) => {
    const vals = [...xs];
    for (const s of p.steps) vals.push(s.apply(vals));
    return p.outputs.map((o) => vals[o]);
  };
}

/** What a run of programs found. */
interface Tally {
  kernels: number;
  fusedEqns: number;
  multiEqnKernels: number;
  withReduce: number;
  withLibrary: number;
  /** Programs with at least one kernel run as WebAssembly, checked exactly / not checked. */
  wasmExact: number;
  wasmSkipped: number;
  failures: string[];
}

/** Whether a kernel's recorded source is a WebAssembly listing (compiled.ts records it in place of the JS). */
const isWasm = (k: { source: string | null }) => k.source?.startsWith(";;") ?? false;
/** A float sum among a kernel's equations (e.g. "c:f32[3] = reduce_sum[...] b"). */
const floatSum = (eqns: string[]) => eqns.some((e) => /^\S+:(f32|f16|bf16)\[[^\]]*\] = reduce_sum/.test(e));

/**
 * Runs the programs of seeds [first, first + n) jitted and eagerly. Exact agreement is required,
 * except where the code says otherwise: codegen-wasm.ts sums floats along a vectorised inner
 * axis in float64 lanes, in a different order than JS, so a program with a float sum in a
 * kernel that ran as WebAssembly is not compared (and counted as such).
 */
function runFamily(first: number, n: number, z: Sizes): Tally {
  const t: Tally = { kernels: 0, fusedEqns: 0, multiEqnKernels: 0, withReduce: 0, withLibrary: 0, wasmExact: 0, wasmSkipped: 0, failures: [] };
  for (let seed = first; seed < first + n; seed++) {
    const p = disableJit(() => randProgram(seed, z));
    const f = programFn(p);
    const want = eager<NDArray[]>(f, ...p.inputs);
    const j = jit(f);
    let got: NDArray[];
    try {
      got = j(...p.inputs);
    } catch (e) {
      t.failures.push(`seed ${seed}: compiled run threw ${(e as Error).message}\n${programText(p)}`);
      continue;
    }
    const rec = recordOf(j, ...p.inputs);
    const ks = rec.kernels.filter((k) => k.kind === "kernel");
    const wasm = ks.filter(isWasm);
    const skip = wasm.some((k) => floatSum(k.eqns));
    if (wasm.length) t[skip ? "wasmSkipped" : "wasmExact"]++;
    if (!skip) {
      const diff = exactTreeDiff(got, want);
      if (diff) t.failures.push(`seed ${seed}: ${diff}${wasm.length ? ` (kernels run as wasm: ${wasm.map((k) => k.name).join(", ")})` : ""}\n${programText(p)}`);
    }
    t.kernels += ks.length;
    for (const k of ks) (t.fusedEqns += k.eqns.length), (t.multiEqnKernels += k.eqns.length > 1 ? 1 : 0);
    if (ks.some((k) => k.eqns.some((e) => /= reduce_/.test(e)))) t.withReduce++;
    if (rec.counts.library > 0) t.withLibrary++;
  }
  if (process.env.PRIMAL_FUZZ_STATS) console.log({ ...t, failures: t.failures.length });
  return t;
}

// PRIMAL_FUZZ_PROGRAMS=5000 PRIMAL_FUZZ_SEED=100000 runs a longer hunt from another seed.
const PROGRAMS = Number(process.env.PRIMAL_FUZZ_PROGRAMS ?? 240);
const LARGE_PROGRAMS = Number(process.env.PRIMAL_FUZZ_LARGE_PROGRAMS ?? 60);
const FIRST_SEED = Number(process.env.PRIMAL_FUZZ_SEED ?? 1);

describe("random programs: compiled equals interpreted, bit for bit", () => {
  it(`${PROGRAMS} small seeded programs (fused kernels as generated JS)`, { timeout: 300_000 }, () => {
    const t = runFamily(FIRST_SEED, PROGRAMS, SMALL);
    expect(t.failures, `${t.failures.length} failure(s)\n${t.failures.slice(0, 5).join("\n\n")}`).toEqual([]);
    // The family is worth its name: most programs fuse several equations per kernel, many fuse
    // a reduction, some mix in library calls.
    expect(t.kernels).toBeGreaterThan(PROGRAMS);
    expect(t.multiEqnKernels).toBeGreaterThan(PROGRAMS / 2);
    expect(t.fusedEqns / t.kernels).toBeGreaterThan(1.5);
    expect(t.withReduce).toBeGreaterThan(PROGRAMS / 4);
    expect(t.withLibrary).toBeGreaterThan(PROGRAMS / 10);
  });

  it(`${LARGE_PROGRAMS} larger seeded programs (big kernels may run as WebAssembly)`, { timeout: 300_000 }, () => {
    const t = runFamily(FIRST_SEED + 1_000_000, LARGE_PROGRAMS, LARGE);
    expect(t.failures, `${t.failures.length} failure(s)\n${t.failures.slice(0, 5).join("\n\n")}`).toEqual([]);
    expect(t.withReduce).toBeGreaterThan(LARGE_PROGRAMS / 5);
    // When kernels run as wasm at all, some of those programs are compared exactly.
    if (t.wasmExact + t.wasmSkipped > 0) expect(t.wasmExact).toBeGreaterThan(0);
  });
});
