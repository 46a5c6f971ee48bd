// Primitives that move data without arithmetic: reshape, broadcast_in_dim, transpose, squeeze,
// rev, slice, pad, concatenate, iota, dynamic_slice, dynamic_update_slice. On the CPU most are
// one strided copy (an offset and a stride per output axis), so they share `stridedCopy`.

import { ShapedArray } from "../core/aval";
import { DType, Storage } from "../core/dtype";
import { AxisError, DTypeError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { HostArray, definePrimitive } from "../core/primitive";
import { sizeOf, stridesOf } from "../core/shape";
import { fromNumbers } from "./cpu-loops";

/** out[i0..ik] = data[offset + sum_d i_d * strides[d]], for every index of `outShape`. */
export function stridedCopy(data: Storage, ctor: DType["storage"], outShape: readonly number[], strides: readonly number[], offset: number): Storage {
  const total = sizeOf(outShape);
  const out = new ctor(total);
  if (total === 0) return out;
  const rank = outShape.length;
  if (rank === 0) {
    out[0] = data[offset];
    return out;
  }
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
  }
  return out;
}

const same = (x: HostArray) => x.data;
const one = (s: Storage) => [s];

export const reshape = definePrimitive<{ new_sizes: number[]; dimensions: null }>({
  name: "reshape",
  abstractEval([x], p) {
    if (sizeOf(p.new_sizes) !== x.size)
      throw new ShapeError(`reshape: cannot reshape array of shape ${fmtShape(x.shape)} (size ${x.size}) into shape ${fmtShape(p.new_sizes)} (size ${sizeOf(p.new_sizes)})`);
    return [x.update({ shape: p.new_sizes })];
  },
  // Arrays are immutable, so a reshape can share the storage.
  cpu: ([x]) => one(same(x)),
});

export const broadcastInDim = definePrimitive<{ shape: number[]; broadcast_dimensions: number[]; sharding: null }>({
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
});

export const transpose = definePrimitive<{ permutation: number[] }>({
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
});

export const squeeze = definePrimitive<{ dimensions: number[] }>({
  name: "squeeze",
  abstractEval([x], p) {
    for (const d of p.dimensions)
      if (d < 0 || d >= x.ndim || x.shape[d] !== 1)
        throw new ShapeError(`squeeze: cannot select an axis to squeeze out which has size not equal to one, got axis ${d} of shape ${fmtShape(x.shape)}`);
    return [x.update({ shape: x.shape.filter((_, i) => !p.dimensions.includes(i)) })];
  },
  cpu: ([x]) => one(same(x)),
});

export const rev = definePrimitive<{ dimensions: number[] }>({
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
});

export const slice = definePrimitive<{ start_indices: number[]; limit_indices: number[]; strides: number[] | null }>({
  name: "slice",
  abstractEval([x], p) {
    const { start_indices: st, limit_indices: li } = p;
    const str = p.strides ?? st.map(() => 1);
    if (st.length !== x.ndim || li.length !== x.ndim || str.length !== x.ndim)
      throw new ShapeError(`slice: start_indices, limit_indices and strides must have one entry per axis of ${fmtShape(x.shape)}, got ${fmtShape(st)}, ${fmtShape(li)}, ${fmtShape(str)}`);
    const shape = x.shape.map((n, d) => {
      if (st[d] < 0 || li[d] > n || st[d] > li[d] || str[d] < 1)
        throw new ShapeError(`slice: invalid bounds start ${st[d]}, limit ${li[d]}, stride ${str[d]} for axis ${d} of size ${n}`);
      return Math.ceil((li[d] - st[d]) / str[d]);
    });
    return [x.update({ shape })];
  },
  cpu([x], p, [o]) {
    const s = stridesOf(x.shape);
    const str = p.strides ?? s.map(() => 1);
    const offset = p.start_indices.reduce((acc, v, d) => acc + v * s[d], 0);
    return one(stridedCopy(x.data, x.dtype.storage, o.shape, s.map((v, d) => v * str[d]), offset));
  },
});

/** pad(operand, padding_value) with (low, high, interior) per axis; negative low/high crop. */
export const pad = definePrimitive<{ padding_config: [number, number, number][] }>({
  name: "pad",
  abstractEval([x, v], p) {
    if (v.ndim !== 0) throw new ShapeError(`pad: padding value must be a scalar, got shape ${fmtShape(v.shape)}`);
    if (v.dtype !== x.dtype) throw new DTypeError(`pad: padding value must have the operand's dtype, got ${v.dtype.name} and ${x.dtype.name}`);
    if (p.padding_config.length !== x.ndim)
      throw new ShapeError(`pad: padding_config must have one entry per axis, got ${p.padding_config.length} for shape ${fmtShape(x.shape)}`);
    const shape = x.shape.map((n, d) => {
      const [lo, hi, interior] = p.padding_config[d];
      if (interior < 0) throw new ValueError(`pad: interior padding must be non-negative, got ${interior}`);
      const size = lo + hi + n + Math.max(0, n - 1) * interior;
      if (size < 0) throw new ShapeError(`pad: padding ${lo}, ${hi} makes axis ${d} of size ${n} negative`);
      return size;
    });
    return [x.update({ shape })];
  },
  cpu([x, v], p, [o]) {
    const out = new x.dtype.storage(o.size);
    out.fill(v.data[0]);
    const outStrides = stridesOf(o.shape);
    const rank = x.shape.length;
    const idx = new Array<number>(rank).fill(0);
    for (let i = 0; i < x.data.length; i++) {
      let pos = 0;
      let inside = true;
      for (let d = 0; d < rank; d++) {
        const [lo, , interior] = p.padding_config[d];
        const od = lo + idx[d] * (interior + 1);
        if (od < 0 || od >= o.shape[d]) {
          inside = false;
          break;
        }
        pos += od * outStrides[d];
      }
      if (inside) out[pos] = x.data[i];
      for (let d = rank - 1; d >= 0; d--) {
        if (++idx[d] < x.shape[d]) break;
        idx[d] = 0;
      }
    }
    return [out];
  },
});

export const concatenate = definePrimitive<{ dimension: number }>({
  name: "concatenate",
  abstractEval(xs, p) {
    if (xs.length === 0) throw new ValueError("concatenate: need at least one array to concatenate, got 0");
    const d = p.dimension;
    const first = xs[0];
    if (d < 0 || d >= first.ndim) throw new AxisError(`concatenate: axis ${d} is out of bounds for array of dimension ${first.ndim}`);
    let total = 0;
    for (const x of xs) {
      if (x.dtype !== first.dtype) throw new DTypeError(`concatenate: arrays must have the same dtypes, got ${xs.map((a) => a.dtype.name).join(", ")}`);
      if (x.ndim !== first.ndim || x.shape.some((n, i) => i !== d && n !== first.shape[i]))
        throw new ShapeError(`concatenate: shapes must match except along axis ${d}, got ${xs.map((a) => fmtShape(a.shape)).join(", ")}`);
      total += x.shape[d];
    }
    const shape = [...first.shape];
    shape[d] = total;
    return [new ShapedArray(shape, first.dtype, xs.every((x) => x.weakType))];
  },
  cpu(xs, p, [o]) {
    const out = new o.dtype.storage(o.size);
    const d = p.dimension;
    const outer = sizeOf(o.shape.slice(0, d));
    const innerOut = sizeOf(o.shape.slice(d));
    let col = 0;
    for (const x of xs) {
      const innerX = sizeOf(x.shape.slice(d));
      for (let r = 0; r < outer; r++) out.set(x.data.subarray(r * innerX, (r + 1) * innerX), r * innerOut + col);
      col += innerX;
    }
    return [out];
  },
});

export const iota = definePrimitive<{ dtype: DType; shape: number[]; dimension: number; sharding: null }>({
  name: "iota",
  abstractEval(_, p) {
    if (p.dimension < 0 || p.dimension >= p.shape.length)
      throw new AxisError(`iota: dimension ${p.dimension} is out of bounds for shape ${fmtShape(p.shape)}`);
    if (p.dtype.isBool) throw new DTypeError("iota: dtype must be numeric, got bool");
    return [new ShapedArray(p.shape, p.dtype)];
  },
  cpu(_, p, [o]) {
    const vals = new Float64Array(o.size);
    const s = stridesOf(p.shape)[p.dimension];
    const n = p.shape[p.dimension];
    for (let i = 0; i < vals.length; i++) vals[i] = Math.floor(i / s) % n;
    return [fromNumbers(vals, p.dtype)];
  },
});

/** Clamps start indices so the whole window fits, as lax.dynamic_slice does. */
function clampStarts(shape: readonly number[], sizes: readonly number[], starts: HostArray[]): number[] {
  return shape.map((n, d) => Math.min(Math.max(Number(starts[d].data[0]), 0), n - sizes[d]));
}

function checkStarts(op: string, x: ShapedArray, starts: ShapedArray[]): void {
  if (starts.length !== x.ndim) throw new ShapeError(`${op}: need one start index per axis of ${fmtShape(x.shape)}, got ${starts.length}`);
  for (const s of starts)
    if (s.ndim !== 0 || !s.dtype.isInt) throw new DTypeError(`${op}: start indices must be integer scalars, got ${s.str()}`);
}

export const dynamicSlice = definePrimitive<{ slice_sizes: number[] }>({
  name: "dynamic_slice",
  abstractEval([x, ...starts], p) {
    checkStarts("dynamic_slice", x, starts);
    if (p.slice_sizes.some((s, d) => s < 0 || s > x.shape[d]))
      throw new ShapeError(`dynamic_slice: slice sizes ${fmtShape(p.slice_sizes)} do not fit in operand ${fmtShape(x.shape)}`);
    return [x.update({ shape: p.slice_sizes })];
  },
  cpu([x, ...starts], p) {
    const st = clampStarts(x.shape, p.slice_sizes, starts);
    const s = stridesOf(x.shape);
    return one(stridedCopy(x.data, x.dtype.storage, p.slice_sizes, s, st.reduce((a, v, d) => a + v * s[d], 0)));
  },
});

export const dynamicUpdateSlice = definePrimitive<{}>({
  name: "dynamic_update_slice",
  abstractEval([x, u, ...starts]) {
    checkStarts("dynamic_update_slice", x, starts);
    if (u.dtype !== x.dtype) throw new DTypeError(`dynamic_update_slice: update must have the operand's dtype, got ${u.dtype.name} and ${x.dtype.name}`);
    if (u.ndim !== x.ndim || u.shape.some((n, d) => n > x.shape[d]))
      throw new ShapeError(`dynamic_update_slice: update ${fmtShape(u.shape)} does not fit in operand ${fmtShape(x.shape)}`);
    return [x];
  },
  cpu([x, u, ...starts]) {
    const st = clampStarts(x.shape, u.shape, starts);
    const out = x.data.slice();
    const s = stridesOf(x.shape);
    const rank = u.shape.length;
    const idx = new Array<number>(rank).fill(0);
    for (let i = 0; i < u.data.length; i++) {
      let pos = 0;
      for (let d = 0; d < rank; d++) pos += (st[d] + idx[d]) * s[d];
      out[pos] = u.data[i];
      for (let d = rank - 1; d >= 0; d--) {
        if (++idx[d] < u.shape[d]) break;
        idx[d] = 0;
      }
    }
    return [out];
  },
});

/** Reinterprets the bits of each element (same width only: f32 <-> i32/u32, f16 <-> i16/u16). */
export const bitcastConvertType = definePrimitive<{ new_dtype: DType }>({
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
});

