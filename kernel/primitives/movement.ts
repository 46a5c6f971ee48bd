// Primitives that move data without arithmetic: reshape, broadcast_in_dim, transpose, squeeze,
// rev, iota, bitcast_convert_type here; slice, pad, concatenate, dynamic_slice and
// dynamic_update_slice in slicing.ts (re-exported below). On the CPU most are one strided copy
// (an offset and a stride per output axis), so they share `stridedCopy`. All but iota and
// bitcast_convert_type are linear in their array operands: the jvp applies the op to the
// tangent, and the transpose moves the cotangent back (JAX's lax.py rules).

import { ShapedArray } from "../core/aval";
import { DType, Storage } from "../core/dtype";
import { AxisError, DTypeError, ShapeError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive, TransposeRule, definePrimitive } from "../core/primitive";
import { sizeOf, stridesOf } from "../core/shape";
import { bind1 } from "../core/trace";
import { fromNumbers } from "./cpu-loops";
import * as o from "./ops";

export * from "./slicing";

/** out[i0..ik] = data[offset + sum_d i_d * strides[d]], for every index of `outShape`. */
export function stridedCopy(data: Storage, ctor: DType["storage"], outShape: readonly number[], strides: readonly number[], offset: number): Storage {
  const total = sizeOf(outShape);
  const out = new ctor(total);
  if (total === 0) return out;
  copyLoopFor(ctor)(data, out, outShape, strides, offset);
  return out;
}

type CopyLoop = (data: Storage, out: Storage, outShape: readonly number[], strides: readonly number[], offset: number) => void;

// The copy loop, one compiled copy per storage type: `data[p]` in a loop that sees several
// typed-array classes is megamorphic in V8 and runs several times slower than a loop that only
// ever sees one (measured: a 72,800-element float32 transpose in the eager MLP step).
const COPY_LOOP = `
const rank = outShape.length;
if (rank === 0) { out[0] = data[offset]; return; }
const total = out.length;
const inner = outShape[rank - 1];
const st = strides[rank - 1];
const idx = new Int32Array(rank);
let base = offset;
for (let o = 0; o < total; o += inner) {
  if (st === 1) for (let j = 0; j < inner; j++) out[o + j] = data[base + j];
  else for (let j = 0, p = base; j < inner; j++, p += st) out[o + j] = data[p];
  for (let d = rank - 2; d >= 0; d--) {
    base += strides[d];
    if (++idx[d] < outShape[d]) break;
    base -= strides[d] * outShape[d];
    idx[d] = 0;
  }
}`;
const copyLoops = new Map<DType["storage"], CopyLoop>();
function copyLoopFor(ctor: DType["storage"]): CopyLoop {
  let f = copyLoops.get(ctor);
  if (!f) copyLoops.set(ctor, (f = new Function("data", "out", "outShape", "strides", "offset", COPY_LOOP) as CopyLoop));
  return f;
}

const same = (x: { data: Storage }) => x.data;
const one = (s: Storage) => [s];

/** The transpose of a primitive linear in its only operand x: the cotangent mapped by f. */
const linear1 =
  <P>(f: (ct: NDArray, x: ShapedArray, params: P) => NDArray): TransposeRule<P> =>
  ([ct], [x], params) =>
    [ct && o.isUndefined(x) ? f(ct, x.aval, params) : null];

type ReshapeParams = { new_sizes: number[]; dimensions: null };
// d reshape(x) = reshape(dx); the transpose reshapes back; batching keeps the batch axis in front.
export const reshape: Primitive<ReshapeParams> = definePrimitive<ReshapeParams>({
  name: "reshape",
  abstractEval([x], p) {
    if (sizeOf(p.new_sizes) !== x.size)
      throw new ShapeError(`reshape: cannot reshape array of shape ${fmtShape(x.shape)} (size ${x.size}) into shape ${fmtShape(p.new_sizes)} (size ${sizeOf(p.new_sizes)})`);
    return [x.update({ shape: p.new_sizes })];
  },
  // Arrays are immutable, so a reshape can share the storage.
  cpu: ([x]) => one(same(x)),
  jvp: (xs, ts, p) => o.linearJvp(reshape, xs, ts, p),
  transpose: linear1((ct, x) => o.reshape(ct, x.shape)),
  batch: ([x], [d], p, size) => [[o.reshape(o.moveAxis(x, d!, 0), [size, ...p.new_sizes])], [0]],
});

type BroadcastParams = { shape: number[]; broadcast_dimensions: number[]; sharding: null };
// d broadcast(x) = broadcast(dx). The transpose sums the cotangent over the axes the operand was
// broadcast along: the new axes and the operand's size-1 axes that were stretched.
export const broadcastInDim: Primitive<BroadcastParams> = definePrimitive<BroadcastParams>({
  name: "broadcast_in_dim",
  abstractEval([x], p) {
    const { shape, broadcast_dimensions: bd } = p;
    if (bd.length !== x.ndim)
      throw new ShapeError(`broadcast_in_dim: broadcast_dimensions must have one entry per operand axis, got ${fmtShape(bd)} for operand ${fmtShape(x.shape)}`);
    bd.forEach((d, i) => {
      if (d < 0 || d >= shape.length || (x.shape[i] !== 1 && x.shape[i] !== shape[d]) || (i > 0 && d <= bd[i - 1]))
        throw new ShapeError(`broadcast_in_dim: operand ${fmtShape(x.shape)} cannot be broadcast to ${fmtShape(shape)} with broadcast_dimensions ${fmtShape(bd)}`);
    });
    return [x.update({ shape })];
  },
  cpu([x], p) {
    const inStrides = stridesOf(x.shape);
    const strides = p.shape.map(() => 0);
    p.broadcast_dimensions.forEach((d, i) => (strides[d] = x.shape[i] === 1 ? 0 : inStrides[i]));
    return one(stridedCopy(x.data, x.dtype.storage, p.shape, strides, 0));
  },
  jvp: (xs, ts, p) => o.linearJvp(broadcastInDim, xs, ts, p),
  transpose: linear1((ct, x, p) => {
    const bd = p.broadcast_dimensions;
    const axes = p.shape.map((_, k) => k).filter((k) => {
      const i = bd.indexOf(k);
      return i < 0 || (x.shape[i] === 1 && p.shape[k] !== 1);
    });
    return o.reshape(o.reduceSum(ct, axes), x.shape);
  }),
  batch: ([x], [d], p, size) => [[o.broadcastInDim(o.moveAxis(x, d!, 0), [size, ...p.shape], [0, ...p.broadcast_dimensions.map((k) => k + 1)])], [0]],
});

// d transpose(x) = transpose(dx); the transpose applies the inverse permutation. Batching puts the
// batch axis first in the permutation.
export const transpose: Primitive<{ permutation: number[] }> = definePrimitive<{ permutation: number[] }>({
  name: "transpose",
  abstractEval([x], p) {
    const perm = p.permutation;
    if (perm.length !== x.ndim || new Set(perm).size !== perm.length || perm.some((a) => a < 0 || a >= x.ndim))
      throw new AxisError(`transpose: permutation must be a permutation of the operand's axes, got ${fmtShape(perm)} for shape ${fmtShape(x.shape)}`);
    return [x.update({ shape: perm.map((a) => x.shape[a]) })];
  },
  cpu([x], p) {
    const s = stridesOf(x.shape);
    return one(stridedCopy(x.data, x.dtype.storage, p.permutation.map((a) => x.shape[a]), p.permutation.map((a) => s[a]), 0));
  },
  jvp: (xs, ts, p) => o.linearJvp(transpose, xs, ts, p),
  transpose: linear1((ct, _x, p) => {
    const inverse: number[] = [];
    p.permutation.forEach((a, i) => (inverse[a] = i));
    return o.transpose(ct, inverse);
  }),
  batch: ([x], [d], p) => [[o.transpose(x, [d!, ...p.permutation.map((a) => (a < d! ? a : a + 1))])], [0]],
});

// d squeeze(x) = squeeze(dx); the transpose reshapes back (expand_dims). The batch axis stays.
export const squeeze: Primitive<{ dimensions: number[] }> = definePrimitive<{ dimensions: number[] }>({
  name: "squeeze",
  abstractEval([x], p) {
    for (const d of p.dimensions)
      if (d < 0 || d >= x.ndim || x.shape[d] !== 1)
        throw new ShapeError(`squeeze: cannot select an axis to squeeze out which has size not equal to one, got axis ${d} of shape ${fmtShape(x.shape)}`);
    return [x.update({ shape: x.shape.filter((_, i) => !p.dimensions.includes(i)) })];
  },
  cpu: ([x]) => one(same(x)),
  jvp: (xs, ts, p) => o.linearJvp(squeeze, xs, ts, p),
  transpose: linear1((ct, x) => o.reshape(ct, x.shape)),
  batch: ([x], [d], p) => {
    const dims = p.dimensions.map((k) => (k < d! ? k : k + 1));
    return [[o.squeeze(x, dims)], [d! - dims.filter((k) => k < d!).length]];
  },
});

// d rev(x) = rev(dx); rev is its own transpose. The batch axis stays.
export const rev: Primitive<{ dimensions: number[] }> = definePrimitive<{ dimensions: number[] }>({
  name: "rev",
  abstractEval([x], p) {
    for (const d of p.dimensions) if (d < 0 || d >= x.ndim) throw new AxisError(`rev: axis ${d} is out of bounds for array of dimension ${x.ndim}`);
    return [x];
  },
  cpu([x], p) {
    const s = stridesOf(x.shape);
    let offset = 0;
    const strides = s.map((st, d) => {
      if (!p.dimensions.includes(d)) return st;
      offset += (x.shape[d] - 1) * st;
      return -st;
    });
    return one(stridedCopy(x.data, x.dtype.storage, x.shape, strides, offset));
  },
  jvp: (xs, ts, p) => o.linearJvp(rev, xs, ts, p),
  transpose: linear1((ct, _x, p) => o.rev(ct, p.dimensions)),
  batch: ([x], [d], p) => [[o.rev(x, p.dimensions.map((k) => (k < d! ? k : k + 1)))], [d]],
});

type IotaParams = { dtype: DType; shape: number[]; dimension: number; sharding: null };
// iota has no inputs: nothing to differentiate, and vmap never reaches it (its output is unbatched).
export const iota: Primitive<IotaParams> = definePrimitive<IotaParams>({
  name: "iota",
  abstractEval(_, p) {
    if (p.dimension < 0 || p.dimension >= p.shape.length)
      throw new AxisError(`iota: dimension ${p.dimension} is out of bounds for shape ${fmtShape(p.shape)}`);
    if (p.dtype.isBool) throw new DTypeError("iota: dtype must be numeric, got bool");
    return [new ShapedArray(p.shape, p.dtype)];
  },
  cpu(_, p, [out]) {
    const vals = new Float64Array(out.size);
    const s = stridesOf(p.shape)[p.dimension];
    const n = p.shape[p.dimension];
    for (let i = 0; i < vals.length; i++) vals[i] = Math.floor(i / s) % n;
    return [fromNumbers(vals, p.dtype)];
  },
  jvp: (xs, _ts, p) => o.zeroJvp(iota, xs, p),
  batch: (_args, _dims, p) => [[bind1(iota, [], p)], [null]],
});

/** Reinterprets the bits of each element (same width only: f32 <-> i32/u32, f16 <-> i16/u16). */
// The bits are reinterpreted, so there is no derivative (JAX's defjvp_zero); batching is elementwise.
export const bitcastConvertType: Primitive<{ new_dtype: DType }> = definePrimitive<{ new_dtype: DType }>({
  name: "bitcast_convert_type",
  abstractEval([x], p) {
    if (x.dtype.bits !== p.new_dtype.bits || x.dtype.isBool || p.new_dtype.isBool)
      throw new DTypeError(`bitcast_convert_type: dtypes must have the same bit width, got ${x.dtype.name} and ${p.new_dtype.name}`);
    return [new ShapedArray(x.shape, p.new_dtype)];
  },
  cpu([x], p) {
    const copy = x.data.slice();
    return [new p.new_dtype.storage(copy.buffer, 0, copy.length)];
  },
  jvp: (xs, _ts, p) => o.zeroJvp(bitcastConvertType, xs, p),
  batch: ([x], [d], p) => [[bind1(bitcastConvertType, [x], p)], [d]],
});

