// Reductions (reduce_sum/prod/max/min/and/or, argmax/argmin) and cumulative scans
// (cumsum/cumprod/cummax/cummin/cumlogsumexp). Accumulation on the CPU is in float64, then
// rounded once to the output dtype (integer sums wrap on store, as int32 adds wrap in XLA).

import { ShapedArray } from "../core/aval";
import { DType, finfoOrIinfo } from "../core/dtype";
import { AxisError, DTypeError, ValueError } from "../core/errors";
import { HostArray, Primitive, definePrimitive } from "../core/primitive";
import { sizeOf } from "../core/shape";
import { fromNumbers, toFloat64 } from "./cpu-loops";

type Combine = (acc: number, v: number) => number;

interface ReduceKind {
  name: string;
  accepts: (d: DType) => boolean;
  init: (d: DType) => number;
  combine: (d: DType) => Combine;
}

function checkAxes(op: string, x: ShapedArray, axes: readonly number[]): void {
  for (const a of axes) if (!Number.isInteger(a) || a < 0 || a >= x.ndim) throw new AxisError(`${op}: axis ${a} is out of bounds for array of dimension ${x.ndim}`);
  if (new Set(axes).size !== axes.length) throw new ValueError(`${op}: repeated axis, got [${axes.join(", ")}]`);
}

/** Folds `combine` over the `axes` of x into a Float64Array shaped like the kept axes. */
export function reduceAxes(x: HostArray, axes: readonly number[], init: number, combine: Combine): Float64Array {
  const shape = x.shape;
  const rank = shape.length;
  const reduced = shape.map((_, d) => axes.includes(d));
  const outShape = shape.filter((_, d) => !reduced[d]);
  const out = new Float64Array(sizeOf(outShape)).fill(init);
  const data = toFloat64(x);
  if (data.length === 0) return out;
  // Output strides along input axes (0 where the axis is reduced).
  const ostr = new Array<number>(rank).fill(0);
  for (let d = rank - 1, acc = 1; d >= 0; d--) if (!reduced[d]) (ostr[d] = acc), (acc *= shape[d]);
  const k = rank - 1;
  // Reducing a trailing block: each output folds a contiguous run.
  let tail = rank;
  while (tail > 0 && reduced[tail - 1]) tail--;
  if (axes.length > 0 && reduced.slice(0, tail).every((r) => !r)) {
    const run = sizeOf(shape.slice(tail));
    for (let o = 0; o < out.length; o++) {
      let acc = init;
      for (let j = o * run, e = j + run; j < e; j++) acc = combine(acc, data[j]);
      out[o] = acc;
    }
    return out;
  }
  const inner = rank === 0 ? 1 : shape[k];
  const innerStride = rank === 0 ? 0 : ostr[k];
  const idx = new Int32Array(rank);
  let base = 0;
  for (let i = 0; i < data.length; i += inner) {
    for (let j = 0, p = base; j < inner; j++, p += innerStride) out[p] = combine(out[p], data[i + j]);
    for (let d = k - 1; d >= 0; d--) {
      base += ostr[d];
      if (++idx[d] < shape[d]) break;
      base -= ostr[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function defineReduce(kind: ReduceKind): Primitive<{ axes: number[]; out_sharding: null }> {
  return definePrimitive<{ axes: number[]; out_sharding: null }>({
    name: kind.name,
    abstractEval([x], p) {
      if (!kind.accepts(x.dtype)) throw new DTypeError(`${kind.name} does not accept dtype ${x.dtype.name}`);
      checkAxes(kind.name, x, p.axes);
      return [x.update({ shape: x.shape.filter((_, d) => !p.axes.includes(d)) })];
    },
    cpu([x], p, [o]) {
      const d = x.dtype;
      return [fromNumbers(reduceAxes(x, p.axes, kind.init(d), kind.combine(d)), o.dtype)];
    },
  });
}

const num = (d: DType) => !d.isBool;
const any = () => true;
const boolOrInt = (d: DType) => d.isBool || d.isInt;
export const reduceSum = defineReduce({ name: "reduce_sum", accepts: any, init: () => 0, combine: (d) => (d.isBool ? (a, v) => a | v : (a, v) => a + v) });
export const reduceProd = defineReduce({
  name: "reduce_prod", accepts: num, init: () => 1,
  combine: (d) => (d.isInt && d.bits === 32 ? (a, v) => Math.imul(a, v) : (a, v) => a * v),
});
export const reduceMax = defineReduce({
  name: "reduce_max", accepts: any, init: (d) => (d.isFloat ? -Infinity : finfoOrIinfo(d).min),
  combine: () => (a, v) => (a !== a || v !== v ? NaN : a > v ? a : v),
});
export const reduceMin = defineReduce({
  name: "reduce_min", accepts: any, init: (d) => (d.isFloat ? Infinity : finfoOrIinfo(d).max),
  combine: () => (a, v) => (a !== a || v !== v ? NaN : a < v ? a : v),
});
export const reduceAnd = defineReduce({ name: "reduce_and", accepts: boolOrInt, init: (d) => (d.isBool ? 1 : -1), combine: () => (a, v) => a & v });
export const reduceOr = defineReduce({ name: "reduce_or", accepts: boolOrInt, init: () => 0, combine: () => (a, v) => a | v });

/** Splits a shape around one axis: [outer, n, inner]. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

function defineArg(name: "argmax" | "argmin"): Primitive<{ axes: number[]; index_dtype: DType }> {
  // A NaN beats every number and the first NaN wins; ties go to the lower index.
  const better = name === "argmax" ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  return definePrimitive<{ axes: number[]; index_dtype: DType }>({
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
  });
}
export const argmax = defineArg("argmax");
export const argmin = defineArg("argmin");

function defineCumulative(name: string, accepts: (d: DType) => boolean, step: (d: DType) => Combine): Primitive<{ axis: number; reverse: boolean }> {
  return definePrimitive<{ axis: number; reverse: boolean }>({
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
  });
}
const round32 = (d: DType, f: Combine): Combine => (d.name === "float32" ? (a, v) => Math.fround(f(a, v)) : f);
// Each partial result is rounded to the dtype, as a scan in the dtype would be.
export const cumsum = defineCumulative("cumsum", num, (d) => round32(d, d.isInt && d.bits === 32 ? (a, v) => (a + v) | 0 : (a, v) => a + v));
export const cumprod = defineCumulative("cumprod", num, (d) => round32(d, d.isInt && d.bits === 32 ? (a, v) => Math.imul(a, v) : (a, v) => a * v));
export const cummax = defineCumulative("cummax", num, () => (a, v) => (a !== a || v !== v ? NaN : Math.max(a, v)));
export const cummin = defineCumulative("cummin", num, () => (a, v) => (a !== a || v !== v ? NaN : Math.min(a, v)));
export const cumlogsumexp = defineCumulative("cumlogsumexp", (d) => d.isFloat, (d) =>
  round32(d, (a, v) => {
    const m = Math.max(a, v);
    return m === -Infinity ? -Infinity : m + Math.log(Math.exp(a - m) + Math.exp(v - m));
  }));

