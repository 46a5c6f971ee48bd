// Reductions (reduce_sum/prod/max/min/and/or, argmax/argmin) and cumulative scans
// (cumsum/cumprod/cummax/cummin/cumlogsumexp). Accumulation on the CPU is in float64, then
// rounded once to the output dtype (integer sums wrap on store, as int32 adds wrap in XLA).
// Transformation rules follow jax/_src/lax/lax.py and control_flow/loops.py; the math is in
// the comments. Only float operands have tangents (JAX's float0 for the others is null here).

import { ShapedArray } from "../core/aval";
import { DType, finfoOrIinfo } from "../core/dtype";
import { AxisError, DTypeError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { BatchRule, HostArray, JvpRule, Primitive, TransposeRule, UndefinedPrimal, definePrimitive } from "../core/primitive";
import { sizeOf } from "../core/shape";
import { bind1 } from "../core/trace";
import { bf16DecodeTable, f16DecodeTable } from "../core/float16";
import { debugLog } from "../core/debug";
import { fromNumbers, toFloat64 } from "./cpu-loops";
import * as E from "./elementwise";
import * as M from "./movement";
import * as o from "./ops";

type Combine = (acc: number, v: number) => number;

interface ReduceKind {
  name: string;
  accepts: (d: DType) => boolean;
  init: (d: DType) => number;
  /** One JS statement folding element `v` into `acc` (compiled into the reduction loop). */
  step: (d: DType) => string;
}

function checkAxes(op: string, x: ShapedArray, axes: readonly number[]): void {
  for (const a of axes) if (!Number.isInteger(a) || a < 0 || a >= x.ndim) throw new AxisError(`${op}: axis ${a} is out of bounds for array of dimension ${x.ndim}`);
  if (new Set(axes).size !== axes.length) throw new ValueError(`${op}: repeated axis, got [${axes.join(", ")}]`);
}

type ReduceKernel = (data: ArrayLike<number>, out: Float64Array, shape: readonly number[], reduced: boolean[], init: number, table: Float32Array | null) => void;
const reduceKernels = new Map<string, ReduceKernel>();

/**
 * A reduction loop generated for one step statement and element decoding (f16/bf16 go through
 * a table), reading the storage directly: a trailing block of reduced axes folds contiguous
 * runs; any other pattern walks the input once with an odometer over the kept axes' strides.
 * Generated code keeps the step inlined in a monomorphic loop (a closure per element is ~5x slower).
 */
function reduceKernel(step: string, decode: boolean): ReduceKernel {
  const key = `${step}|${decode}`;
  let k = reduceKernels.get(key);
  if (k) return k;
  const read = (i: string) => (decode ? `table[data[${i}]]` : `data[${i}]`);
  const src = `
const rank = shape.length;
let total = 1; for (let d = 0; d < rank; d++) total *= shape[d];
if (total === 0) return;
let tail = rank; while (tail > 0 && reduced[tail - 1]) tail--;
let leadingKept = true; for (let d = 0; d < tail; d++) if (reduced[d]) leadingKept = false;
if (tail < rank && leadingKept) {
  let run = 1; for (let d = tail; d < rank; d++) run *= shape[d];
  for (let o = 0, j = 0; o < out.length; o++) {
    let acc = init;
    for (const e = j + run; j < e; j++) { const v = ${read("j")}; ${step} }
    out[o] = acc;
  }
  return;
}
const ostr = new Array(rank).fill(0);
for (let d = rank - 1, a = 1; d >= 0; d--) if (!reduced[d]) { ostr[d] = a; a *= shape[d]; }
const last = rank - 1;
const inner = rank === 0 ? 1 : shape[last];
const innerStride = rank === 0 ? 0 : ostr[last];
const idx = new Int32Array(Math.max(rank, 1));
let base = 0;
for (let i = 0; i < total; i += inner) {
  if (innerStride === 0) {
    let acc = out[base];
    for (let j = 0; j < inner; j++) { const v = ${read("i + j")}; ${step} }
    out[base] = acc;
  } else {
    for (let j = 0, p = base; j < inner; j++, p += innerStride) { let acc = out[p]; const v = ${read("i + j")}; ${step} out[p] = acc; }
  }
  for (let d = last - 1; d >= 0; d--) { base += ostr[d]; if (++idx[d] < shape[d]) break; base -= ostr[d] * shape[d]; idx[d] = 0; }
}`;
  debugLog(3, "kernel", `cpu reduction kernel (${step}${decode ? ", decoded" : ""}):\n${src}`);
  k = new Function("data", "out", "shape", "reduced", "init", "table", src) as ReduceKernel;
  reduceKernels.set(key, k);
  return k;
}

/** Folds the reduction's step over the `axes` of x into a Float64Array shaped like the kept axes. */
export function reduceAxes(x: HostArray, axes: readonly number[], init: number, step: string): Float64Array {
  const reduced = x.shape.map((_, d) => axes.includes(d));
  const out = new Float64Array(sizeOf(x.shape.filter((_, d) => !reduced[d]))).fill(init);
  const decode = x.dtype.name === "float16" || x.dtype.name === "bfloat16";
  reduceKernel(step, decode)(x.data, out, x.shape, reduced, init, decode ? (x.dtype.name === "float16" ? f16DecodeTable() : bf16DecodeTable()) : null);
  return out;
}

type ReduceParams = { axes: number[]; out_sharding: null };
interface ReduceRules {
  jvp: JvpRule<ReduceParams>;
  transpose?: TransposeRule<ReduceParams>;
}

function defineReduce(kind: ReduceKind, rules: ReduceRules): Primitive<ReduceParams> {
  const prim: Primitive<ReduceParams> = definePrimitive<ReduceParams>({
    name: kind.name,
    abstractEval([x], p) {
      if (!kind.accepts(x.dtype)) throw new DTypeError(`${kind.name} does not accept dtype ${x.dtype.name}`);
      checkAxes(kind.name, x, p.axes);
      return [x.update({ shape: x.shape.filter((_, d) => !p.axes.includes(d)) })];
    },
    cpu([x], p, [o]) {
      const d = x.dtype;
      return [fromNumbers(reduceAxes(x, p.axes, kind.init(d), kind.step(d)), o.dtype)];
    },
    jvp: rules.jvp,
    transpose: rules.transpose,
    batch: (args, dims, params) => reduceBatch(prim, args, dims, params),
  });
  return prim;
}

const num = (d: DType) => !d.isBool;
const any = () => true;
const boolOrInt = (d: DType) => d.isBool || d.isInt;
/** The axes of a rank-`rank` array not in `axes`, in order. */
const keptAxes = (rank: number, axes: readonly number[]): number[] => Array.from({ length: rank }, (_, i) => i).filter((i) => !axes.includes(i));

/**
 * vmap of a reduction (JAX's reducer_batcher): the reduced axes are renumbered around the batch
 * axis, which survives at its position among the kept axes.
 */
function reduceBatch<P extends { axes: number[] }>(prim: Primitive<P>, [x]: NDArray[], [bd]: (number | null)[], params: P): [NDArray[], (number | null)[]] {
  const b = bd!;
  const axes = params.axes.map((a) => (a < b ? a : a + 1));
  return [[bind1(prim, [x], { ...params, axes })], [b - axes.filter((a) => a < b).length]];
}

/** A jvp rule for outputs without tangent (bool/int results, piecewise-constant functions). */
const noTangent =
  <P>(prim: () => Primitive<P>): JvpRule<P> =>
  (xs, _ts, params) =>
    [[bind1(prim(), xs, params)], [null]];

// d sum(x) = sum(dx): linear. Transpose: the cotangent broadcast back over the reduced axes.
export const reduceSum: Primitive<ReduceParams> = defineReduce(
  { name: "reduce_sum", accepts: any, init: () => 0, step: (d) => (d.isBool ? "acc |= v;" : "acc += v;") },
  {
    jvp: ([x], [t], p) => [[bind1(reduceSum, [x], p)], [t && x.dtype.isFloat ? bind1(reduceSum, [t], p) : null]],
    transpose: ([ct], [x], p) => {
      const aval = (x as UndefinedPrimal).aval;
      return [ct && o.broadcastInDim(ct, aval.shape, keptAxes(aval.ndim, p.axes))];
    },
  },
);

/**
 * prod(x) over the reduced positions j of each output: d prod = sum_j dx_j prod_{i != j} x_i.
 * The products of the others are computed without division (so zeros are exact, as JAX's
 * _reduce_prod_jvp_rule is): with the reduced axes flattened to one axis of length n, the
 * exclusive cumulative product from the left times the one from the right. The tangent is then
 * sum(dx * others), linear in dx through mul and reduce_sum only.
 */
export const reduceProd: Primitive<ReduceParams> = defineReduce(
  {
    name: "reduce_prod", accepts: num, init: () => 1,
    step: (d) => (d.isInt && d.bits === 32 ? "acc = Math.imul(acc, v);" : "acc *= v;"),
  },
  {
    jvp: ([x], [t], p) => {
      const ans = bind1(reduceProd, [x], p);
      if (!t || !x.dtype.isFloat) return [[ans], [null]];
      return [[ans], [o.reduceSum(o.mul(t, productOfOthers(x, p.axes)), p.axes)]];
    },
  },
);

/** For each element of x: the product of the other elements reduced into the same output. */
function productOfOthers(x: NDArray, axes: readonly number[]): NDArray {
  const n = sizeOf(axes.map((a) => x.shape[a]));
  if (n <= 1) return o.onesLike(x);
  const kept = keptAxes(x.ndim, axes);
  const perm = [...kept, ...axes];
  const xt = o.transpose(x, perm);
  const last = kept.length;
  const flat = o.reshape(xt, [...kept.map((a) => x.shape[a]), n]);
  const one = o.scalar(1, x.dtype);
  const padLast = (v: NDArray, lo: number, hi: number) =>
    bind1(M.pad, [v, one], { padding_config: v.shape.map((_, d) => (d === last ? [lo, hi, 0] : [0, 0, 0])) });
  // left[k] = x_0 ... x_{k-1}, right[k] = x_{k+1} ... x_{n-1} (empty products are 1).
  const left = padLast(bind1(cumprod, [o.sliceAxis(flat, last, 0, n - 1)], { axis: last, reverse: false }), 1, 0);
  const right = padLast(bind1(cumprod, [o.sliceAxis(flat, last, 1, n)], { axis: last, reverse: true }), 0, 1);
  const others = o.reshape(o.mul(left, right), xt.shape);
  const inv = perm.map((_, i) => perm.indexOf(i));
  return o.transpose(others, inv);
}

/**
 * JAX's _reduce_chooser_jvp_rule: the tangent of max (min) is the average of the tangents at
 * the positions equal to the result, d max(x) = sum(dx [x == max]) / sum([x == max]).
 */
const chooserJvp =
  (prim: () => Primitive<ReduceParams>): JvpRule<ReduceParams> =>
  ([x], [t], p) => {
    const ans = bind1(prim(), [x], p);
    if (!t || !x.dtype.isFloat) return [[ans], [null]];
    const at = o.convert(o.eq(x, o.broadcastInDim(ans, x.shape, keptAxes(x.ndim, p.axes))), t.dtype);
    return [[ans], [o.div(o.reduceSum(o.mul(t, at), p.axes), o.reduceSum(at, p.axes))]];
  };
export const reduceMax: Primitive<ReduceParams> = defineReduce(
  {
    name: "reduce_max", accepts: any, init: (d) => (d.isFloat ? -Infinity : finfoOrIinfo(d).min),
    step: () => "if (v > acc || v !== v) acc = v;", // NaN propagates: a NaN acc never changes again
  },
  { jvp: chooserJvp(() => reduceMax) },
);
export const reduceMin: Primitive<ReduceParams> = defineReduce(
  {
    name: "reduce_min", accepts: any, init: (d) => (d.isFloat ? Infinity : finfoOrIinfo(d).max),
    step: () => "if (v < acc || v !== v) acc = v;",
  },
  { jvp: chooserJvp(() => reduceMin) },
);
// Bool/int results: no tangent.
export const reduceAnd: Primitive<ReduceParams> = defineReduce(
  { name: "reduce_and", accepts: boolOrInt, init: (d) => (d.isBool ? 1 : -1), step: () => "acc &= v;" },
  { jvp: noTangent(() => reduceAnd) },
);
export const reduceOr: Primitive<ReduceParams> = defineReduce(
  { name: "reduce_or", accepts: boolOrInt, init: () => 0, step: () => "acc |= v;" },
  { jvp: noTangent(() => reduceOr) },
);

/** Splits a shape around one axis: [outer, n, inner]. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

// argmax/argmin: integer results, no tangent; batched like the reductions.
function defineArg(name: "argmax" | "argmin"): Primitive<{ axes: number[]; index_dtype: DType }> {
  // A NaN beats every number and the first NaN wins; ties go to the lower index.
  const better = name === "argmax" ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  const prim: Primitive<{ axes: number[]; index_dtype: DType }> = definePrimitive<{ axes: number[]; index_dtype: DType }>({
    name,
    abstractEval([x], p) {
      if (p.axes.length !== 1) throw new AxisError(`${name}: exactly one axis is supported, got [${p.axes.join(", ")}]`);
      checkAxes(name, x, p.axes);
      if (x.shape[p.axes[0]] === 0) throw new ValueError(`${name}: attempt to get ${name} of an empty sequence, got shape [${x.shape.join(", ")}]`);
      if (!p.index_dtype.isInt) throw new DTypeError(`${name}: index_dtype must be an integer type, got ${p.index_dtype.name}`);
      return [new ShapedArray(x.shape.filter((_, d) => d !== p.axes[0]), p.index_dtype)];
    },
    cpu([x], p, [o]) {
      const [outer, n, inner] = around(x.shape, p.axes[0]);
      const data = toFloat64(x);
      const out = new Float64Array(outer * inner);
      for (let a = 0; a < outer; a++)
        for (let c = 0; c < inner; c++) {
          let best = data[a * n * inner + c];
          let bi = 0;
          for (let k = 1; k < n && best === best; k++) {
            const v = data[(a * n + k) * inner + c];
            if (v !== v || better(v, best)) (best = v), (bi = k);
          }
          out[a * inner + c] = bi;
        }
      return [fromNumbers(out, o.dtype)];
    },
    jvp: noTangent(() => prim),
    batch: (args, dims, params) => reduceBatch(prim, args, dims, params),
  });
  return prim;
}
export const argmax = defineArg("argmax");
export const argmin = defineArg("argmin");

type CumParams = { axis: number; reverse: boolean };
type Pair = [NDArray, NDArray];

// The cumulative reductions keep the operand's shape: vmap renumbers the scanned axis.
const cumulativeBatch =
  (prim: () => Primitive<CumParams>): BatchRule<CumParams> =>
  ([x], [bd], p) => {
    const b = bd!;
    return [[bind1(prim(), [x], { ...p, axis: p.axis < b ? p.axis : p.axis + 1 })], [b]];
  };

/**
 * The jvp of cumprod/cummax/cummin/cumlogsumexp, as JAX's _cumulative_jvp_rule: the tangent is
 * the jvp of the associative scan of the combining function, so each `combine` takes and
 * returns (primal, tangent) pairs, linear in the tangents. The primal output is the primitive's
 * own (sequential) result; the scan's primal partials only weight the tangents.
 */
const scanJvp =
  (prim: () => Primitive<CumParams>, combine: (a: Pair, b: Pair) => Pair): JvpRule<CumParams> =>
  ([x], [t], p) => {
    const ans = bind1(prim(), [x], p);
    if (!t || !x.dtype.isFloat) return [[ans], [null]];
    return [[ans], [associativeScan(combine, [x, t], p.axis, p.reverse)[1]]];
  };

/** lax.slice_in_dim along `axis` with a stride. */
function sliceStrided(x: NDArray, axis: number, start: number, stop: number, stride: number): NDArray {
  if (stride === 1) return o.sliceAxis(x, axis, start, stop);
  return bind1(M.slice, [x], {
    start_indices: x.shape.map((_, d) => (d === axis ? start : 0)),
    limit_indices: x.shape.map((n, d) => (d === axis ? stop : n)),
    strides: x.shape.map((_, d) => (d === axis ? stride : 1)),
  });
}

/** JAX's _interleave: a at the even positions of `axis`, b at the odd ones (|a| = |b| or |b| + 1). */
function interleave(a: NDArray, b: NDArray, axis: number): NDArray {
  const same = a.shape[axis] === b.shape[axis];
  const cfg = (x: NDArray, lo: number, hi: number) => x.shape.map((_, d): [number, number, number] => (d === axis ? [lo, hi, 1] : [0, 0, 0]));
  const zero = (x: NDArray) => o.scalar(0, x.dtype);
  return o.add(bind1(M.pad, [a, zero(a)], { padding_config: cfg(a, 0, same ? 1 : 0) }), bind1(M.pad, [b, zero(b)], { padding_config: cfg(b, 1, same ? 0 : 1) }));
}

/**
 * lax.associative_scan of (primal, tangent) pairs along `axis` (JAX's work-efficient recursion
 * from control_flow/loops.py): combine adjacent pairs, scan the half-length result (the odd
 * positions), combine it with the remaining even elements, interleave. `reverse` scans from the
 * end by reversing the operands and the result (every combine here is commutative).
 */
function associativeScan(combine: (a: Pair, b: Pair) => Pair, elems: Pair, axis: number, reverse: boolean): Pair {
  const rev = (x: NDArray) => bind1(M.rev, [x], { dimensions: [axis] });
  const each = (xs: Pair, f: (x: NDArray) => NDArray): Pair => [f(xs[0]), f(xs[1])];
  const scan = (xs: Pair): Pair => {
    const n = xs[0].shape[axis];
    if (n < 2) return xs;
    const odd = scan(combine(each(xs, (x) => sliceStrided(x, axis, 0, n - 1, 2)), each(xs, (x) => sliceStrided(x, axis, 1, n, 2))));
    const first = each(xs, (x) => o.sliceAxis(x, axis, 0, 1));
    let even = first;
    if (n > 2) {
      const rest = each(xs, (x) => sliceStrided(x, axis, 2, n, 2));
      const prev = n % 2 === 0 ? each(odd, (x) => o.sliceAxis(x, axis, 0, x.shape[axis] - 1)) : odd;
      const combined = combine(prev, rest);
      even = [0, 1].map((i) => bind1(M.concatenate, [first[i], combined[i]], { dimension: axis })) as Pair;
    }
    return [interleave(even[0], odd[0], axis), interleave(even[1], odd[1], axis)];
  };
  const out = scan(reverse ? each(elems, rev) : elems);
  return reverse ? each(out, rev) : out;
}

function defineCumulative(
  name: string, accepts: (d: DType) => boolean, step: (d: DType) => Combine,
  rules: (prim: () => Primitive<CumParams>) => { jvp: JvpRule<CumParams>; transpose?: TransposeRule<CumParams> },
): Primitive<CumParams> {
  const r = rules(() => prim);
  const prim: Primitive<CumParams> = definePrimitive<CumParams>({
    name,
    abstractEval([x], p) {
      if (!accepts(x.dtype)) throw new DTypeError(`${name} does not accept dtype ${x.dtype.name}`);
      checkAxes(name, x, [p.axis]);
      return [x];
    },
    cpu([x], p, [o]) {
      const [outer, n, inner] = around(x.shape, p.axis);
      const data = toFloat64(x);
      const out = new Float64Array(data.length);
      const f = step(x.dtype);
      for (let a = 0; a < outer; a++)
        for (let c = 0; c < inner; c++) {
          let acc = NaN;
          for (let t = 0; t < n; t++) {
            const k = p.reverse ? n - 1 - t : t;
            const i = (a * n + k) * inner + c;
            acc = t === 0 ? data[i] : f(acc, data[i]);
            out[i] = acc;
          }
        }
      return [fromNumbers(out, o.dtype)];
    },
    jvp: r.jvp,
    transpose: r.transpose,
    batch: cumulativeBatch(() => prim),
  });
  return prim;
}
const round32 = (d: DType, f: Combine): Combine => (d.name === "float32" ? (a, v) => Math.fround(f(a, v)) : f);
/** JAX's logaddexp: max + log1p(exp(-|a - b|)), and a + b where a - b is NaN (equal infinities, NaN). */
function logaddexp(a: NDArray, b: NDArray): NDArray {
  const delta = o.sub(a, b);
  return o.select(o.ne(delta, delta), o.add(a, b), o.add(o.max(a, b), bind1(E.log1p, [o.exp(o.neg(o.abs(delta)))])));
}
/** max's balanced jvp weight of `a` (binary.ts): 1 where a alone attains c, 1/2 on a tie, else 0. */
const chooserWeight = (a: NDArray, b: NDArray, c: NDArray) =>
  o.select(o.eq(a, c), o.select(o.eq(b, c), o.full(c.aval, 0.5), o.onesLike(c)), o.zerosLike(c));
const chooserCombine = (isMax: boolean) => ([a, da]: Pair, [b, db]: Pair): Pair => {
  const c = isMax ? o.max(a, b) : o.min(a, b);
  return [c, o.add(o.mul(da, chooserWeight(a, b, c)), o.mul(db, chooserWeight(b, a, c)))];
};

// Each partial result is rounded to the dtype, as a scan in the dtype would be.
// cumsum is linear: d cumsum(x) = cumsum(dx); its transpose is the cumsum in the other direction.
export const cumsum: Primitive<CumParams> = defineCumulative(
  "cumsum", num, (d) => round32(d, d.isInt && d.bits === 32 ? (a, v) => (a + v) | 0 : (a, v) => a + v),
  (prim) => ({
    jvp: ([x], [t], p) => [[bind1(prim(), [x], p)], [t && x.dtype.isFloat ? bind1(prim(), [t], p) : null]],
    transpose: ([ct], _x, p) => [ct && bind1(prim(), [ct], { ...p, reverse: !p.reverse })],
  }),
);
// d(a b) = da b + a db at each combine: exact where x has zeros (no division).
export const cumprod: Primitive<CumParams> = defineCumulative(
  "cumprod", num, (d) => round32(d, d.isInt && d.bits === 32 ? (a, v) => Math.imul(a, v) : (a, v) => a * v),
  (prim) => ({ jvp: scanJvp(prim, ([a, da], [b, db]) => [o.mul(a, b), o.add(o.mul(da, b), o.mul(a, db))]) }),
);
// d max(a, b) = da [a > b] + db [b > a] + (da + db)/2 [a == b] at each combine (max's rule), so
// the tangent follows the position of the running max.
export const cummax: Primitive<CumParams> = defineCumulative(
  "cummax", num, () => (a, v) => (a !== a || v !== v ? NaN : Math.max(a, v)),
  (prim) => ({ jvp: scanJvp(prim, chooserCombine(true)) }),
);
export const cummin: Primitive<CumParams> = defineCumulative(
  "cummin", num, () => (a, v) => (a !== a || v !== v ? NaN : Math.min(a, v)),
  (prim) => ({ jvp: scanJvp(prim, chooserCombine(false)) }),
);
// d logaddexp(a, b) = da e^a / (e^a + e^b) + db e^b / (e^a + e^b) = da sigmoid(a - b) + db sigmoid(b - a),
// stable for any spread; equal arguments (equal infinities included) weigh 1/2 each.
export const cumlogsumexp: Primitive<CumParams> = defineCumulative(
  "cumlogsumexp", (d) => d.isFloat,
  (d) =>
    round32(d, (a, v) => {
      const m = Math.max(a, v);
      return m === -Infinity ? -Infinity : m + Math.log(Math.exp(a - m) + Math.exp(v - m));
    }),
  (prim) => ({
    jvp: scanJvp(prim, ([a, da], [b, db]) => {
      const tie = o.eq(a, b);
      const half = o.full(a.aval, 0.5);
      const wa = o.select(tie, half, o.logistic(o.sub(a, b)));
      const wb = o.select(tie, half, o.logistic(o.sub(b, a)));
      return [logaddexp(a, b), o.add(o.mul(da, wa), o.mul(db, wb))];
    }),
  }),
);
