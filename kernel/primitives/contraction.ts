// dot_general: XLA's general contraction (batch dimensions, contracting dimensions, free
// dimensions), the primitive behind np.dot, matmul, einsum and tensordot. On the CPU the
// operands are permuted to [batch, M, K] and [batch, K, N] (`contractionLayout`) and multiplied
// with an i-k-j loop over float64 rows (exact products, one rounding at the end); the CPU
// backend runs float32 products through its WebAssembly SIMD GEMM instead
// (kernel/backends/cpu/gemm.ts), so this loop serves the other dtypes. The transformation
// rules are JAX's (jax/_src/lax/lax.py): the jvp is bilinear, the transposes contract the
// cotangent with the other operand (_dot_general_transpose_lhs/rhs), and vmap moves the batch
// axes into the dimension numbers (_dot_general_batch_dim_nums), so a batched product is one
// dot_general.

import { ShapedArray } from "../core/aval";
import { DType, Storage } from "../core/dtype";
import { DTypeError, ShapeError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { HostArray, Primitive, UndefinedPrimal, definePrimitive } from "../core/primitive";
import { sizeOf, stridesOf } from "../core/shape";
import { bind1 } from "../core/trace";
import { fromNumbers, toFloat64 } from "./cpu-loops";
import * as o from "./ops";

/** ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch)), as in lax.dot_general. */
export type DotDimensionNumbers = [[number[], number[]], [number[], number[]]];

export interface DotGeneralParams {
  dimension_numbers: DotDimensionNumbers;
  precision: null;
  preferred_element_type: DType | null;
}

function freeDims(rank: number, used: number[]): number[] {
  return Array.from({ length: rank }, (_, i) => i).filter((i) => !used.includes(i));
}

export const dotGeneral: Primitive<DotGeneralParams> = definePrimitive<DotGeneralParams>({
  name: "dot_general",
  abstractEval([a, b], p) {
    const [[ac, bc], [ab, bb]] = p.dimension_numbers;
    const where = `lhs ${fmtShape(a.shape)} and rhs ${fmtShape(b.shape)}`;
    if (a.dtype !== b.dtype) throw new DTypeError(`dot_general: operands must have the same dtype, got ${a.dtype.name} and ${b.dtype.name}`);
    if (ac.length !== bc.length || ab.length !== bb.length)
      throw new ShapeError(`dot_general: contracting and batch dimension lists must have equal lengths, got ${JSON.stringify(p.dimension_numbers)}`);
    for (const [dims, x] of [[ac, a], [ab, a], [bc, b], [bb, b]] as const)
      for (const d of dims) if (d < 0 || d >= x.ndim) throw new ShapeError(`dot_general: dimension ${d} out of range for ${where}`);
    ac.forEach((d, i) => {
      if (a.shape[d] !== b.shape[bc[i]])
        throw new ShapeError(`dot_general: contracting dimensions must have the same size, got ${a.shape[d]} and ${b.shape[bc[i]]} for ${where}`);
    });
    ab.forEach((d, i) => {
      if (a.shape[d] !== b.shape[bb[i]])
        throw new ShapeError(`dot_general: batch dimensions must have the same size, got ${a.shape[d]} and ${b.shape[bb[i]]} for ${where}`);
    });
    const af = freeDims(a.ndim, [...ac, ...ab]);
    const bf = freeDims(b.ndim, [...bc, ...bb]);
    const shape = [...ab.map((d) => a.shape[d]), ...af.map((d) => a.shape[d]), ...bf.map((d) => b.shape[d])];
    const dtype = p.preferred_element_type ?? a.dtype;
    return [new ShapedArray(shape, dtype, a.weakType && b.weakType)];
  },
  cpu([a, b], p, [o]) {
    const { B, M, K, N, lhsPerm, rhsPerm } = contractionLayout(a.shape, b.shape, p.dimension_numbers);
    const A = permuted(a, lhsPerm); // [B, M, K]
    const Bm = permuted(b, rhsPerm); // [B, K, N]
    const out = new Float64Array(B * M * N);
    const intWrap = a.dtype.isInt && a.dtype.bits === 32 && !p.preferred_element_type?.isFloat;
    for (let bi = 0; bi < B; bi++) {
      const ao = bi * M * K;
      const bo = bi * K * N;
      const oo = bi * M * N;
      for (let i = 0; i < M; i++) {
        const row = oo + i * N;
        for (let k = 0; k < K; k++) {
          const aik = A[ao + i * K + k];
          if (aik === 0 && !intWrap) continue;
          const bk = bo + k * N;
          if (intWrap) for (let j = 0; j < N; j++) out[row + j] = (out[row + j] + Math.imul(aik, Bm[bk + j])) | 0;
          else for (let j = 0; j < N; j++) out[row + j] += aik * Bm[bk + j];
        }
      }
    }
    // 0 * inf and 0 * NaN must still poison the sum: redo rows where a skipped zero met a non-finite.
    if (!intWrap && hasNonFinite(Bm)) fixZeroTimesNonFinite(A, Bm, out, B, M, K, N);
    return [fromNumbers(out, o.dtype) as Storage];
  },
  // d(A . B) = dA . B + A . dB (bilinear).
  jvp([a, b], [ta, tb], p) {
    const ans = bind1(dotGeneral, [a, b], p);
    if (!a.dtype.isFloat || !ans.dtype.isFloat) return [[ans], [null]];
    const da = ta && bind1(dotGeneral, [ta, b], p);
    const db = tb && bind1(dotGeneral, [a, tb], p);
    return [[ans], [da && db ? o.add(da, db) : (da ?? db)]];
  },
  // Linear in whichever operand is unknown: its cotangent contracts ct with the other operand.
  transpose([ct], [a, b], p) {
    const undefA = a instanceof UndefinedPrimal;
    const undefB = b instanceof UndefinedPrimal;
    if (undefA && undefB) throw new DTypeError("dot_general: transpose of a product of two linear values (not linear), got two unknown operands");
    if (!ct) return [null, null];
    const [[ac, bc], [ab, bb]] = p.dimension_numbers;
    if (undefA) return [transposeLhs(ct, a.aval, b as NDArray, [[ac, bc], [ab, bb]], false), null];
    if (undefB) return [null, transposeLhs(ct, b.aval, a as NDArray, [[bc, ac], [bb, ab]], true)];
    return [null, null];
  },
  batch: ([a, b], [ad, bd], p) => {
    const [dims, outDim] = batchDimensionNumbers(a.ndim, b.ndim, ad, bd, p.dimension_numbers);
    return [[bind1(dotGeneral, [a, b], { ...p, dimension_numbers: dims })], [outDim]];
  },
});

const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);
const argsort = (xs: readonly number[]): number[] => xs.map((_, i) => i).sort((i, j) => xs[i] - xs[j]);

/**
 * JAX's _dot_general_transpose_lhs: the cotangent of x in dot_general(x, y) (or, with `swapAns`,
 * in dot_general(y, x), whose result has y's free axes first). ct is contracted with y over y's
 * free axes, batched over the batch axes; the result has x's batch, free, then contracting axes
 * (ordered as y's contracting axes), transposed back to x's layout.
 */
function transposeLhs(g: NDArray, x: ShapedArray, y: NDArray, dn: DotDimensionNumbers, swapAns: boolean): NDArray {
  const [[xc, yc], [xb, yb]] = dn;
  const xKept = freeDims(x.ndim, [...xc, ...xb]);
  const yKept = freeDims(y.ndim, [...yc, ...yb]);
  const nb = xb.length;
  const ansBatch = range(0, nb);
  const ansY = swapAns ? range(nb, yKept.length) : range(nb + xKept.length, yKept.length);
  const xContractSortedByY = argsort(yc).map((i) => xc[i]);
  const outAxes = argsort([...xb, ...xKept, ...xContractSortedByY]);
  // Operands of one dtype: with a preferred_element_type the cotangent may be wider than y.
  const yy = y.dtype === g.dtype ? y : o.convert(y, g.dtype);
  const prod = bind1(dotGeneral, [g, yy], { dimension_numbers: [[ansY, yKept], [ansBatch, yb]], precision: null, preferred_element_type: null });
  return o.convert(o.transpose(prod, outAxes), x.dtype, x.weakType);
}

/**
 * JAX's _dot_general_batch_dim_nums: both operands batched -> a new leading batch dimension;
 * one batched -> its batch axis becomes a free axis of that operand (no copy of the other).
 * Returns the new dimension numbers and where the result's batch axis is.
 */
function batchDimensionNumbers(lhsRank: number, rhsRank: number, lbd: number | null, rbd: number | null, dn: DotDimensionNumbers): [DotDimensionNumbers, number] {
  const [[lc, rc], [lb, rb]] = dn;
  const bump = (dims: number[], b: number) => dims.map((d) => (d >= b ? d + 1 : d));
  if (lbd !== null && rbd !== null) return [[[bump(lc, lbd), bump(rc, rbd)], [[lbd, ...bump(lb, lbd)], [rbd, ...bump(rb, rbd)]]], 0];
  if (lbd !== null) {
    // The result is [batch, lhs free, rhs free]: the new axis sits among the lhs free axes.
    const lhsFree = freeDims(lhsRank - 1, [...lc, ...lb]);
    return [[[bump(lc, lbd), rc], [bump(lb, lbd), rb]], lb.length + lhsFree.filter((d) => d < lbd).length];
  }
  const rhsFree = freeDims(rhsRank - 1, [...rc, ...rb]);
  return [[[lc, bump(rc, rbd!)], [lb, bump(rb, rbd!)]], lhsRank - lc.length + rhsFree.filter((d) => d < rbd!).length];
}

/**
 * How dot_general sees its operands: lhs as [B, M, K] (its axes in the order `lhsPerm`: batch,
 * free, contracting) and rhs as [B, K, N] (`rhsPerm`: batch, contracting, free). `groups` is
 * how many axes each of the three parts has, per operand. Shared by every CPU contraction
 * kernel (this file's float64 loop, the backends' float32 GEMM).
 */
export interface ContractionLayout {
  B: number;
  M: number;
  K: number;
  N: number;
  lhsPerm: number[];
  rhsPerm: number[];
  lhsGroups: [number, number, number];
  rhsGroups: [number, number, number];
}

export function contractionLayout(lhsShape: readonly number[], rhsShape: readonly number[], dn: DotDimensionNumbers): ContractionLayout {
  const [[ac, bc], [ab, bb]] = dn;
  const af = freeDims(lhsShape.length, [...ac, ...ab]);
  const bf = freeDims(rhsShape.length, [...bc, ...bb]);
  return {
    B: sizeOf(ab.map((d) => lhsShape[d])),
    M: sizeOf(af.map((d) => lhsShape[d])),
    K: sizeOf(ac.map((d) => lhsShape[d])),
    N: sizeOf(bf.map((d) => rhsShape[d])),
    lhsPerm: [...ab, ...af, ...ac],
    rhsPerm: [...bb, ...bc, ...bf],
    lhsGroups: [ab.length, af.length, ac.length],
    rhsGroups: [bb.length, bc.length, bf.length],
  };
}

/**
 * Writes the elements of a row-major array of `shape` into `out` (from `outOffset`) in the
 * order of the axis permutation `perm` (as np.transpose(x, perm).ravel() would list them).
 */
export function permuteInto(data: ArrayLike<number>, shape: readonly number[], perm: readonly number[], out: { [i: number]: number }, outOffset = 0): void {
  const s = stridesOf(shape);
  const pshape = perm.map((d) => shape[d]);
  const strides = perm.map((d) => s[d]);
  const n = sizeOf(shape);
  const rank = pshape.length;
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let pos = 0;
    for (let d = 0; d < rank; d++) pos += idx[d] * strides[d];
    out[outOffset + i] = data[pos];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < pshape[d]) break;
      idx[d] = 0;
    }
  }
}

/** The operand's elements in the order of `perm` as float64. */
function permuted(x: HostArray, perm: number[]): Float64Array {
  const data = toFloat64(x);
  if (perm.every((d, i) => d === i)) return data;
  const out = new Float64Array(data.length);
  permuteInto(data, x.shape, perm, out);
  return out;
}

function hasNonFinite(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return true;
  return false;
}

function fixZeroTimesNonFinite(A: Float64Array, Bm: Float64Array, out: Float64Array, B: number, M: number, K: number, N: number): void {
  for (let bi = 0; bi < B; bi++)
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++) {
        if (A[bi * M * K + i * K + k] !== 0) continue;
        for (let j = 0; j < N; j++) if (!Number.isFinite(Bm[bi * K * N + k * N + j])) out[bi * M * N + i * N + j] = NaN;
      }
}
