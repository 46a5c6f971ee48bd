// Views: how a fused kernel reads an array it never copies. A view of a buffer is a shape, a
// stride per axis (in elements, 0 along broadcast axes, negative along reversed ones) and an
// offset: element (i0, ..., ik) of the view is buffer[offset + sum_d i_d * strides[d]]. The
// movement primitives (broadcast_in_dim, reshape, transpose, squeeze, rev, slice) and the
// implicit broadcasting of elementwise operands map a view to a view, so a chain of them
// between a buffer and a kernel folds into the kernel's index arithmetic (tinygrad's
// ShapeTracker with a single view). Only reshape can fail (splitting or merging axes whose
// strides do not line up, e.g. flattening a broadcast); the lowering then materialises the
// reshape's operand.

import { sizeOf, stridesOf } from "../core/shape";

/** A strided view of a buffer. */
export interface View {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** A movement applied to a view, from the operand's shape to the result's. */
export type ViewOp =
  /** broadcast_in_dim: operand axis i becomes axis dims[i] of `shape`; size-1 axes stretch. */
  | { kind: "broadcast"; shape: readonly number[]; dims: readonly number[] }
  | { kind: "reshape"; shape: readonly number[] }
  | { kind: "transpose"; perm: readonly number[] }
  /** squeeze: drops the listed size-1 axes. */
  | { kind: "squeeze"; dims: readonly number[] }
  | { kind: "rev"; dims: readonly number[] }
  | { kind: "slice"; start: readonly number[]; limit: readonly number[]; step: readonly number[] };

/** The row-major view of a whole buffer. */
export function contiguous(shape: readonly number[]): View {
  return { shape, strides: stridesOf(shape), offset: 0 };
}

/** `op` applied to `v`, or null when the result is not a single strided view. */
export function applyViewOp(v: View, op: ViewOp): View | null {
  switch (op.kind) {
    case "broadcast": {
      const strides = op.shape.map(() => 0);
      op.dims.forEach((k, i) => (strides[k] = v.shape[i] === 1 && op.shape[k] !== 1 ? 0 : v.strides[i]));
      return { shape: op.shape, strides, offset: v.offset };
    }
    case "transpose":
      return { shape: op.perm.map((a) => v.shape[a]), strides: op.perm.map((a) => v.strides[a]), offset: v.offset };
    case "squeeze":
      return { shape: v.shape.filter((_, i) => !op.dims.includes(i)), strides: v.strides.filter((_, i) => !op.dims.includes(i)), offset: v.offset };
    case "rev": {
      let offset = v.offset;
      const strides = v.strides.map((s, d) => {
        if (!op.dims.includes(d) || v.shape[d] === 0) return s;
        offset += (v.shape[d] - 1) * s;
        return -s;
      });
      return { shape: v.shape, strides, offset };
    }
    case "slice": {
      let offset = v.offset;
      const shape = v.shape.map((_, d) => Math.max(0, Math.ceil((op.limit[d] - op.start[d]) / op.step[d])));
      const strides = v.strides.map((s, d) => {
        offset += op.start[d] * s;
        return s * op.step[d];
      });
      return { shape, strides, offset };
    }
    case "reshape":
      return reshapeView(v, op.shape);
  }
}

/**
 * A view reshaped without a copy (NumPy's _attempt_nocopy_reshape): each group of old axes
 * that multiplies to a group of new axes must be mergeable (stride[k] = size[k+1] * stride[k+1]),
 * which holds for broadcast axes among themselves (all strides 0). Null otherwise.
 */
export function reshapeView(v: View, shape: readonly number[]): View | null {
  const size = sizeOf(v.shape);
  if (size !== sizeOf(shape)) return null;
  if (size === 0) return { shape, strides: stridesOf(shape), offset: v.offset };
  const olddims: number[] = [];
  const oldstrides: number[] = [];
  v.shape.forEach((n, i) => {
    if (n !== 1) {
      olddims.push(n);
      oldstrides.push(v.strides[i]);
    }
  });
  const newstrides = new Array<number>(shape.length).fill(0);
  const oldnd = olddims.length;
  const newnd = shape.length;
  let oi = 0;
  let oj = 1;
  let ni = 0;
  let nj = 1;
  while (ni < newnd && oi < oldnd) {
    let np = shape[ni];
    let op = olddims[oi];
    while (np !== op) {
      if (np < op) np *= shape[nj++];
      else op *= olddims[oj++];
    }
    for (let ok = oi; ok < oj - 1; ok++) if (oldstrides[ok] !== olddims[ok + 1] * oldstrides[ok + 1]) return null;
    newstrides[nj - 1] = oldstrides[oj - 1];
    for (let nk = nj - 1; nk > ni; nk--) newstrides[nk - 1] = newstrides[nk] * shape[nk];
    ni = nj++;
    oi = oj++;
  }
  // Axes of size 1 read nothing else: their stride is irrelevant, 0 keeps keys canonical.
  return { shape, strides: newstrides.map((s, i) => (shape[i] === 1 ? 0 : s)), offset: v.offset };
}

/** The view with size-1 axes given stride 0 (they never move the index): a canonical form for keys. */
export function canonical(v: View): View {
  return { shape: v.shape, strides: v.strides.map((s, i) => (v.shape[i] === 1 ? 0 : s)), offset: v.offset };
}

/** True when the view reads the buffer in order, whole: offset 0 and row-major strides. */
export function isIdentity(v: View): boolean {
  const c = stridesOf(v.shape);
  return v.offset === 0 && v.shape.every((n, i) => n === 1 || v.strides[i] === c[i]);
}

/** A string that is equal for equal (canonical) views. */
export function viewKey(v: View): string {
  const c = canonical(v);
  return `${c.shape.join(",")}|${c.strides.join(",")}|${c.offset}`;
}
