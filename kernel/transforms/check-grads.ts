// checkGrads: JAX's jax.test_util.check_grads. Checks a function's derivatives numerically:
//   - "fwd": jvp(f) against central finite differences (f(x + eps t) - f(x - eps t)) / 2 eps in a
//     random direction t;
//   - "rev": vjp(f) against the finite-difference jvp by the dot-product test
//     <t, vjp(ct)> = <jvp(t), ct> for random t and ct;
// and, for order > 1, the same checks on the derivative functions themselves (jvp(f) as a
// function of primals and tangents; x -> vjp(f, x)(f(x))), recursively, exactly as JAX does.
//
// Float32: Primal has no float64, so f is evaluated in float32 and JAX's defaults (eps = 1e-4,
// tolerance 2e-3, which assume that tests run with x64) do not fit. What Primal does instead:
//   - the finite differences and all comparisons are computed on the host in float64;
//   - the random direction is adjusted so that x ± eps t is exactly representable (so the
//     finite difference sees the same perturbation the autodiff side differentiates along);
//   - central differences with steps eps and eps/2 are combined by Richardson extrapolation
//     (truncation error O(eps^4));
//   - defaults: eps = 1e-2 (3e-2 when an argument is float16/bfloat16); atol = rtol = 1e-2 per
//     element for float32 outputs (5e-2 float16, 1e-1 bfloat16). As in JAX, each leaf's
//     tolerances are multiplied by its size (`|a - b| <= atol * size + rtol * size * |b|`), and
//     the directions come from a fixed seed, so a check is deterministic.
// Limits: outputs of large magnitude (|f| ~ 1e5) differentiated along small directions lose the
// derivative in float32 rounding; pass a larger eps or tolerances there.

import { ShapedArray } from "../core/aval";
import { DType } from "../core/dtype";
import { ArgumentError, DTypeError, PrimalError } from "../core/errors";
import { NDArray, fromStorage } from "../core/ndarray";
import { describeValue, isPlainObject } from "../core/shape";
import { treeFlatten, treeUnflatten } from "../core/tree";
import { fromNumbers } from "../primitives/cpu-loops";
import { leafToArray } from "./args";
import { jvp, vjp } from "./autodiff";

type Fn = (...args: any[]) => any;
export type CheckGradsMode = "fwd" | "rev";

export interface CheckGradsOptions {
  /** Which derivatives to check (default both): "fwd" (jvp) and/or "rev" (vjp). */
  modes?: CheckGradsMode | readonly CheckGradsMode[];
  /** Absolute tolerance per element (scaled by each leaf's size, as in JAX). */
  atol?: number;
  /** Relative tolerance per element (scaled by each leaf's size, as in JAX). */
  rtol?: number;
  /** Finite-difference step. */
  eps?: number;
}

/** The default tolerance of a dtype (float32: 1e-2). */
function defaultTolerance(d: DType): number {
  switch (d.name) {
    case "float16":
      return 5e-2;
    case "bfloat16":
      return 1e-1;
    default:
      return 1e-2;
  }
}
function defaultEps(d: DType): number {
  return d.name === "float32" ? 1e-2 : 3e-2;
}

/** A small seeded generator (mulberry32) with normal samples (Box-Muller): deterministic directions. */
class Rng {
  private s: number;
  private spare: number | null = null;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  private uniform(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

const hostOf = (x: NDArray): number[] => Array.from(x.dataSync() as ArrayLike<number>, Number);

/** An array like `like` (shape, dtype, weak type) holding `values` (rounded to its dtype). */
function arrayLike(like: NDArray, values: ArrayLike<number>): NDArray {
  return fromStorage(fromNumbers(values, like.dtype), new ShapedArray(like.shape, like.dtype, like.weakType));
}

function asArray(x: unknown, what: string): NDArray {
  if (x instanceof NDArray) return x;
  return leafToArray(x, `checkGrads (${what})`);
}

/** JAX's rand_like: standard normal values of x's shape and dtype. */
function randLike(rng: Rng, tree: unknown): unknown {
  const [leaves, def] = treeFlatten(tree);
  return treeUnflatten(
    def,
    leaves.map((l) => {
      const x = asArray(l, "random direction");
      if (!x.dtype.isFloat) throw new DTypeError(`checkGrads: arguments and outputs must be floating-point arrays (finite differences need real values), got ${x.aval.str()}`);
      return arrayLike(x, Array.from({ length: x.size }, () => rng.normal()));
    }),
  );
}

/**
 * Adjusts a direction so that x + k * step * t is exactly representable in x's dtype (for k = ±1,
 * ±2): t' = (round(x + step t) - x) / step. Then the finite differences see exactly the
 * perturbation the autodiff side differentiates along, instead of one rounded to x's precision
 * (which costs float32 up to ~1e-4 relative per step of 1e-2 at |x| ~ 50).
 */
function snapDirection(primals: unknown, tangents: unknown, step: number): unknown {
  const p = hostLeaves(primals, "primals");
  const t = hostLeaves(tangents, "tangents");
  return treeUnflatten(
    t.def,
    t.arrays.map((ta, i) => {
      const x = p.values[i];
      const moved = hostOf(arrayLike(p.arrays[i], x.map((v, k) => v + step * t.values[i][k])));
      return arrayLike(ta, moved.map((v, k) => (Number.isFinite(v) ? (v - x[k]) / step : t.values[i][k])));
    }),
  );
}

/** Leaves of a tree as host float64 values with their arrays. */
function hostLeaves(tree: unknown, what: string): { arrays: NDArray[]; values: number[][]; def: ReturnType<typeof treeFlatten>[1] } {
  const [leaves, def] = treeFlatten(tree);
  const arrays = leaves.map((l) => asArray(l, what));
  return { arrays, values: arrays.map(hostOf), def };
}

/**
 * JAX's numerical_jvp, (f(x + eps t) - f(x - eps t)) / (2 eps), improved for float32: the
 * differences are taken in float64, and the central differences with steps eps and eps/2 are
 * combined by Richardson extrapolation, (4 D(eps/2) - D(eps)) / 3, whose truncation error is
 * O(eps^4) instead of O(eps^2), so that a step large enough for float32's rounding still gives
 * accurate derivatives of rapidly varying functions.
 */
function numericalJvp(f: Fn, primals: unknown[], tangents: unknown[], eps: number): { def: ReturnType<typeof treeFlatten>[1]; values: number[][]; arrays: NDArray[] } {
  const p = hostLeaves(primals, "primals");
  const t = hostLeaves(tangents, "tangents");
  // x + h * eps * t (h = ±1, ±1/2), rounded to x's dtype.
  const shifted = (h: number) =>
    treeUnflatten(
      p.def,
      p.arrays.map((x, i) => arrayLike(x, p.values[i].map((v, k) => v + h * eps * t.values[i][k]))),
    ) as unknown[];
  // Central differences with steps h and h/2, combined by Richardson extrapolation.
  const central = (h: number) => {
    const pos = hostLeaves(f(...shifted(h)), "output");
    const neg = hostLeaves(f(...shifted(-h)), "output");
    if (!pos.def.equals(neg.def)) throw new PrimalError(`checkGrads: the function's output structure changed between evaluations, got ${pos.def} and ${neg.def}`);
    return { def: pos.def, arrays: pos.arrays, values: pos.values.map((a, i) => a.map((v, k) => (v - neg.values[i][k]) * (0.5 / (h * eps)))) };
  };
  const d1 = central(1);
  const d2 = central(0.5);
  return { def: d1.def, arrays: d1.arrays, values: d1.values.map((a, i) => a.map((v, k) => (4 * d2.values[i][k] - v) / 3)) };
}

interface Tols {
  atol: number | undefined;
  rtol: number | undefined;
}

const fmtNum = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(7))) : v.toExponential(4));

function indexOf(flat: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `[${idx.join(", ")}]`;
}

/**
 * JAX's check_close: leaf by leaf, |a - b| <= atol * size + rtol * size * |b| (NumPy's allclose,
 * NaNs equal), with the tolerance of the leaf's dtype unless given.
 */
function checkClose(
  actual: { arrays: NDArray[]; values: number[][]; def: { equals(o: unknown): boolean; toString(): string } },
  expected: { values: number[][]; def: { equals(o: unknown): boolean; toString(): string } },
  tols: Tols,
  what: string,
  note = "",
): void {
  if (!actual.def.equals(expected.def)) throw new PrimalError(`checkGrads: ${what}: the structures differ, got ${actual.def} (autodiff) and ${expected.def} (expected)`);
  actual.values.forEach((a, i) => {
    const b = expected.values[i];
    const arr = actual.arrays[i];
    const leaf = actual.values.length > 1 ? ` (leaf ${i}, ${arr.aval.str()})` : ` (${arr.aval.str()})`;
    if (a.length !== b.length) throw new PrimalError(`checkGrads: ${what}${leaf}: sizes differ, got ${a.length} and ${b.length}`);
    const size = Math.max(1, a.length);
    const atol = (tols.atol ?? defaultTolerance(arr.dtype)) * size;
    const rtol = (tols.rtol ?? defaultTolerance(arr.dtype)) * size;
    let worst = -1;
    let worstExcess = 0;
    for (let k = 0; k < a.length; k++) {
      const x = a[k];
      const y = b[k];
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      const err = Math.abs(x - y);
      const bound = atol + rtol * Math.abs(y);
      if (!(err <= bound)) {
        const excess = Number.isNaN(err) ? Infinity : err - bound;
        if (worst < 0 || excess > worstExcess) {
          worst = k;
          worstExcess = excess;
        }
      }
    }
    if (worst >= 0) {
      const x = a[worst];
      const y = b[worst];
      const bad = a.reduce((n, x2, k) => n + (Number.isNaN(x2) && Number.isNaN(b[k]) ? 0 : Math.abs(x2 - b[k]) <= atol + rtol * Math.abs(b[k]) ? 0 : 1), 0);
      throw new PrimalError(
        `checkGrads: ${what} mismatch${leaf}: ${bad} of ${a.length} element${a.length === 1 ? " differs" : "s differ"}; ` +
          `worst at index ${indexOf(worst, arr.shape)}: autodiff ${fmtNum(x)}, expected ${fmtNum(y)}, |difference| ${fmtNum(Math.abs(x - y))} > atol + rtol * |expected| ` +
          `with atol = ${fmtNum(atol)}, rtol = ${fmtNum(rtol)} (per-element tolerances ${fmtNum(atol / size)}, ${fmtNum(rtol / size)} times the size ${size}, as in JAX's check_grads)${note}`,
      );
    }
  });
}

type HostTree = ReturnType<typeof hostLeaves>;

/** JAX's inner_prod over two trees of the same structure, in float64. */
function innerProd(a: Pick<HostTree, "values" | "def">, b: Pick<HostTree, "values" | "def">, what: string): number {
  if (!a.def.equals(b.def)) throw new PrimalError(`checkGrads: ${what}: the structures differ, got ${a.def} and ${b.def}`);
  let s = 0;
  a.values.forEach((x, i) => x.forEach((v, k) => (s += v * b.values[i][k])));
  return s;
}

function scalarLeaf(v: number, like: NDArray) {
  return { arrays: [like], values: [[v]], def: treeFlatten(0)[1] };
}

/** JAX's check_jvp. */
function checkJvp(f: Fn, fJvp: (ps: unknown[], ts: unknown[]) => [unknown, unknown], args: unknown[], tols: Tols, eps: number, errMsg: string): void {
  const rng = new Rng(0);
  const tangent = snapDirection(args, randLike(rng, args), eps / 2) as unknown[];
  const [vOut, tOut] = fJvp(args, tangent);
  const vExpected = hostLeaves(f(...args), "output");
  const tExpected = numericalJvp(f, args, tangent, eps);
  checkClose(hostLeaves(vOut, "output"), vExpected, tols, `${errMsg} primal`);
  checkClose(hostLeaves(tOut, "tangent"), tExpected, tols, `${errMsg} tangent`, `; expected = finite differences with eps = ${eps}`);
}

/** JAX's check_vjp (the dot-product test against the finite-difference jvp). */
function checkVjp(f: Fn, fVjp: (...args: unknown[]) => [unknown, (ct: unknown) => unknown], args: unknown[], tols: Tols, eps: number, errMsg: string): void {
  const [vOut, vjpFn] = fVjp(...args);
  const vExpected = hostLeaves(f(...args), "output");
  const out = hostLeaves(vOut, "output");
  checkClose(out, vExpected, tols, `${errMsg} primal`);
  const rng = new Rng(0);
  const tangent = snapDirection(args, randLike(rng, args), eps / 2);
  const tangentOut = numericalJvp(f, args, tangent as unknown[], eps);
  const cotangent = randLike(rng, vOut);
  const cotangentOut = vjpFn(cotangent);
  const ip = innerProd(hostLeaves(tangent, "tangent"), hostLeaves(cotangentOut, "cotangent"), `${errMsg} cotangent`);
  const ipExpected = innerProd(tangentOut, hostLeaves(cotangent, "cotangent"), `${errMsg} cotangent`);
  // The inner products are scalars of the outputs' dtype (for the default tolerance).
  const dtype = out.arrays[0]?.dtype ?? asArray(0, "inner product").dtype;
  const like = fromStorage(fromNumbers([0], dtype), new ShapedArray([], dtype));
  checkClose(scalarLeaf(ip, like), scalarLeaf(ipExpected, like), tols, `${errMsg} cotangent projection`, `; <t, vjp(ct)> against <finite-difference jvp(t), ct> with eps = ${eps}`);
}

function checkModes(modes: unknown): CheckGradsMode[] {
  const list = typeof modes === "string" ? [modes] : Array.isArray(modes) ? [...modes] : null;
  if (!list || list.length === 0 || list.some((m) => m !== "fwd" && m !== "rev"))
    throw new ArgumentError(`checkGrads: modes must be "fwd", "rev" or a list of them, got ${describeValue(modes)}`);
  return list as CheckGradsMode[];
}

/**
 * jax.test_util.check_grads: checks f's derivatives up to `order` against finite differences
 * and throws a PrimalError naming the first mismatch (which check, which leaf and element, the
 * values and the tolerance). `args` is the list of f's arguments (pytrees of float arrays or
 * numbers). See the top of this file for the float32 defaults of eps, atol and rtol.
 */
export function checkGrads(f: Fn, args: readonly unknown[], order: number, opts: CheckGradsOptions = {}): void {
  if (typeof f !== "function") throw new ArgumentError(`checkGrads: expected a function, got ${describeValue(f)}`);
  if (!Array.isArray(args)) throw new ArgumentError(`checkGrads: args must be a list of the function's arguments (JAX's tuple), got ${describeValue(args)}`);
  if (!Number.isInteger(order) || order < 1) throw new ArgumentError(`checkGrads: order must be a positive integer, got ${describeValue(order)}`);
  if (!isPlainObject(opts as unknown)) throw new ArgumentError(`checkGrads: options must be a plain object { modes, atol, rtol, eps }, got ${describeValue(opts)}`);
  for (const k of Object.keys(opts)) if (!["modes", "atol", "rtol", "eps"].includes(k)) throw new ArgumentError(`checkGrads: unknown option, got ${JSON.stringify(k)} (known: modes, atol, rtol, eps)`);
  for (const k of ["atol", "rtol", "eps"] as const) {
    const v: unknown = opts[k];
    if (v !== undefined && v !== null && !(typeof v === "number" && v >= 0 && Number.isFinite(v))) throw new ArgumentError(`checkGrads: option ${k} must be a non-negative number, got ${describeValue(v)}`);
  }
  const modes = checkModes(opts.modes ?? ["fwd", "rev"]);
  const argList = [...args];
  const [leaves] = treeFlatten(argList);
  const arrays = leaves.map((l) => asArray(l, "argument"));
  for (const a of arrays) if (!a.dtype.isFloat) throw new DTypeError(`checkGrads: arguments must be floating-point arrays (finite differences need real values), got ${a.aval.str()}`);
  if (opts.eps === 0) throw new ArgumentError("checkGrads: eps must be positive, got 0");
  // The step of the least precise argument dtype (float32: 1e-2).
  const eps = opts.eps ?? checkGradsEps(argList);
  const tols: Tols = { atol: opts.atol ?? undefined, rtol: opts.rtol ?? undefined };

  const check = (g: Fn, gArgs: unknown[], ord: number, errMsg: string): void => {
    if (modes.includes("fwd")) {
      const msg = errMsg ? `JVP of ${errMsg}` : "JVP";
      checkJvp(g, (ps, ts) => jvp(g, ps, ts), gArgs, tols, eps, msg);
      if (ord > 1) check((ps: unknown[], ts: unknown[]) => jvp(g, ps, ts), [gArgs, gArgs], ord - 1, msg);
    }
    if (modes.includes("rev")) {
      const msg = errMsg ? `VJP of ${errMsg}` : "VJP";
      checkVjp(g, (...a) => vjp(g, ...a), gArgs, tols, eps, msg);
      if (ord > 1) {
        const gVjp = (...a: unknown[]) => {
          const [out, vjpFn] = vjp(g, ...a);
          return vjpFn(out);
        };
        check(gVjp, gArgs, ord - 1, msg);
      }
    }
  };
  check(f, argList, order, "");
}

/** The finite-difference step checkGrads uses for these arguments: that of the least precise float dtype (float32: 1e-2). */
export function checkGradsEps(args: readonly unknown[]): number {
  return treeFlatten([...args])[0].map((l) => asArray(l, "argument")).reduce((e, a) => Math.max(e, a.dtype.isFloat ? defaultEps(a.dtype) : 0), 1e-2);
}

/** One leaf's directional check (see {@link checkGradLeaves}). */
export interface GradLeafCheck {
  /** <gradient, t>: the given gradient along the direction. */
  autodiff: number;
  /** The finite-difference derivative of f along the direction (float64, Richardson-extrapolated). */
  numeric: number;
  /** |autodiff - numeric| / (atol + rtol |numeric|), with the leaf dtype's tolerances: ≤ 1 passes. */
  ratio: number;
  ok: boolean;
}

/**
 * Checks given gradients of a scalar function leaf by leaf (the gradients panel's check, which
 * tests the values a compiled program returned): for each leaf of `args` (the list of f's
 * arguments), a random direction t in that leaf alone, and <gradient, t> against the finite
 * difference of f along t. The directions and the step are those of checkGrads (seeded; x ± eps t
 * representable), so a check is deterministic.
 */
export function checkGradLeaves(f: Fn, args: readonly unknown[], grads: readonly NDArray[], opts: { eps?: number } = {}): GradLeafCheck[] {
  const argList = [...args];
  const p = hostLeaves(argList, "argument");
  if (p.arrays.length !== grads.length) throw new PrimalError(`checkGrads: expected one gradient per argument leaf, got ${grads.length} gradients for ${p.arrays.length} leaves`);
  for (const a of p.arrays) if (!a.dtype.isFloat) throw new DTypeError(`checkGrads: arguments must be floating-point arrays (finite differences need real values), got ${a.aval.str()}`);
  const eps = opts.eps ?? checkGradsEps(argList);
  const dir = hostLeaves(snapDirection(argList, randLike(new Rng(0), argList), eps / 2), "tangents");
  return p.arrays.map((a, k) => {
    const only = treeUnflatten(dir.def, dir.arrays.map((t, i) => (i === k ? t : arrayLike(t, new Array<number>(t.size).fill(0))))) as unknown[];
    const num = numericalJvp(f, argList, only, eps);
    if (num.values.length !== 1 || num.values[0].length !== 1) throw new PrimalError(`checkGrads: the function must return a scalar, got ${num.values.length} leaves`);
    const numeric = num.values[0][0];
    const g = hostOf(grads[k]);
    const t = dir.values[k];
    let autodiff = 0;
    for (let i = 0; i < t.length; i++) autodiff += g[i] * t[i];
    const tol = defaultTolerance(a.dtype);
    const ratio = Math.abs(autodiff - numeric) / (tol + tol * Math.abs(numeric));
    return { autodiff, numeric, ratio, ok: ratio <= 1 };
  });
}
