// jax.numpy's tensor contractions: dot, matmul, vdot, inner, outer, tensordot, einsum, kron
// (jax/_src/numpy/tensor_contractions.py). All of them lower to lax.dot_general after NumPy's
// shape rules are applied here: `dot` stacks batch dimensions, `matmul` broadcasts them, and
// einsum contracts its operands pairwise. Operands are promoted to a common dtype first (JAX's
// promote_dtypes): integer products stay integer and bool products stay bool, as in JAX.

import { DType, DTypeLike, toDType } from "../core/dtype";
import { ArgumentError, AxisError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { OptionSpec, checkOptions, checkSize, describeValue, isPlainObject, normalizeAxis, positionalOrOption } from "../core/shape";
import type { DotDimensionNumbers } from "../primitives/contraction";
import { ArrayLike, astype, promoteArgs } from "./convert";
import * as lax from "./lax";
import { diagonal, ravel } from "./shape-ops";
import { multiply } from "./ufuncs";

/** Options shared by the contractions (precision is accepted and ignored: the CPU computes in full precision). */
export interface DotOptions {
  precision?: unknown;
  /** Accumulate and return in this dtype (lax.dot_general's preferred_element_type). */
  preferredElementType?: DTypeLike | null;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
// The options each function accepts; unknown keys are errors.
const DOT_OPTS: OptionSpec = { precision: "any", preferredElementType: "any" };
const TENSORDOT_OPTS: OptionSpec = { ...DOT_OPTS, axes: "any" };
const EINSUM_OPTS: OptionSpec = { ...DOT_OPTS, optimize: "any" };

/** Promotes two operands; with a preferred element type, also casts to it. */
function operands(op: string, a: ArrayLike, b: ArrayLike, opts: DotOptions, spec: OptionSpec = DOT_OPTS): [NDArray, NDArray, DType | null] {
  checkOptions(op, opts, spec);
  const [x, y] = promoteArgs(op, a, b);
  const pet = opts.preferredElementType ? toDType(opts.preferredElementType, op) : null;
  return [x, y, pet];
}
const cast = (x: NDArray, pet: DType | null): NDArray => (pet && x.dtype !== pet ? astype(x, pet) : x);
const dg = (x: NDArray, y: NDArray, dims: DotDimensionNumbers, pet: DType | null): NDArray =>
  lax.dotGeneral(x, y, dims, { preferredElementType: pet });

/**
 * jnp.dot(a, b): a scalar operand multiplies elementwise; otherwise contracts the last axis of
 * a with the second-to-last axis of b (the only axis of a 1-D b). Batch axes stack:
 * result shape = a.shape[:-1] + b.shape[:-2] + b.shape[-1:].
 */
export function dot(a: ArrayLike, b: ArrayLike, opts: DotOptions = {}): NDArray {
  const [x, y, pet] = operands("dot", a, b, opts);
  if (x.ndim === 0 || y.ndim === 0) return cast(multiply(x, y), pet);
  const ca = x.ndim - 1;
  const cb = y.ndim === 1 ? 0 : y.ndim - 2;
  if (x.shape[ca] !== y.shape[cb])
    throw new ShapeError(`dot: shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)} not aligned: ${x.shape[ca]} (dim ${ca}) != ${y.shape[cb]} (dim ${cb})`);
  return dg(x, y, [[[ca], [cb]], [[], []]], pet);
}

/**
 * jnp.matmul(a, b) (the `@` operator): batch axes broadcast; a 1-D a gets a leading 1 and a
 * 1-D b a trailing 1, both removed from the result; scalars are rejected.
 */
export function matmul(a: ArrayLike, b: ArrayLike, opts: DotOptions = {}): NDArray {
  const [x, y, pet] = operands("matmul", a, b, opts);
  [x, y].forEach((v, i) => {
    if (v.ndim === 0) throw new ValueError(`matmul: input operand ${i} must have ndim at least 1, but it has ndim 0`);
  });
  const aMat = x.ndim > 1;
  const bMat = y.ndim > 1;
  const ka = x.shape[x.ndim - 1];
  const kb = y.shape[bMat ? y.ndim - 2 : 0];
  if (ka !== kb)
    throw new ShapeError(`matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size ${kb} is different from ${ka}), got shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
  // JAX's construction: batch axes equal in both become dot_general batch axes; an axis of size
  // 1 (or missing) on one side is squeezed there and becomes a free axis of the other side; a
  // final transpose restores the broadcast batch order.
  const aBatch = aMat ? x.shape.slice(0, -2) : [];
  const bBatch = bMat ? y.shape.slice(0, -2) : [];
  const nb = Math.max(aBatch.length, bBatch.length);
  const pa: (number | null)[] = [...new Array(nb - aBatch.length).fill(null), ...aBatch];
  const pb: (number | null)[] = [...new Array(nb - bBatch.length).fill(null), ...bBatch];
  const aSqueeze: number[] = [], bSqueeze: number[] = [], aB: number[] = [], bB: number[] = [];
  const idxBatch: number[] = [], idxA: number[] = [], idxB: number[] = [];
  for (let i = 0; i < nb; i++) {
    const [da, db] = [pa[i], pb[i]];
    if (da === null) idxB.push(i);
    else if (db === null) idxA.push(i);
    else if (da === 1) (aSqueeze.push(idxBatch.length + idxA.length + aSqueeze.length), idxB.push(i));
    else if (db === 1) (bSqueeze.push(idxBatch.length + idxB.length + bSqueeze.length), idxA.push(i));
    else if (da === db) (aB.push(idxBatch.length + idxA.length), bB.push(idxBatch.length + idxB.length), idxBatch.push(i));
    else throw new ShapeError(`matmul: Incompatible shapes for matmul arguments: ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
  }
  if (aMat) idxA.push(nb);
  if (bMat) idxB.push(nb + (aMat ? 1 : 0));
  const xs = aSqueeze.length ? lax.squeeze(x, aSqueeze) : x;
  const ys = bSqueeze.length ? lax.squeeze(y, bSqueeze) : y;
  const out = dg(xs, ys, [[[xs.ndim - 1], [ys.ndim - 1 - (bMat ? 1 : 0)]], [aB, bB]], pet);
  // dot_general emits [batch, a-free, b-free]; position p of that holds result axis order[p].
  const order = [...idxBatch, ...idxA, ...idxB];
  const perm = range(order.length).sort((p, q) => order[p] - order[q]);
  return perm.every((p, i) => p === i) ? out : lax.transpose(out, perm);
}

/** jnp.vdot(a, b): the dot product of the flattened operands. */
export function vdot(a: ArrayLike, b: ArrayLike, opts: DotOptions = {}): NDArray {
  const [x, y, pet] = operands("vdot", a, b, opts);
  if (x.size !== y.size) throw new ShapeError(`vdot: input arrays must have the same number of elements, got shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
  return dg(ravel(x), ravel(y), [[[0], [0]], [[], []]], pet);
}

/** jnp.inner(a, b): contracts the last axes of both; result shape a.shape[:-1] + b.shape[:-1]. */
export function inner(a: ArrayLike, b: ArrayLike, opts: DotOptions = {}): NDArray {
  const [x, y, pet] = operands("inner", a, b, opts);
  if (x.ndim === 0 || y.ndim === 0) return cast(multiply(x, y), pet);
  const [ca, cb] = [x.ndim - 1, y.ndim - 1];
  if (x.shape[ca] !== y.shape[cb])
    throw new ShapeError(`inner: shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)} not aligned: ${x.shape[ca]} (dim ${ca}) != ${y.shape[cb]} (dim ${cb})`);
  return dg(x, y, [[[ca], [cb]], [[], []]], pet);
}

/** jnp.outer(a, b): out[i, j] = ravel(a)[i] * ravel(b)[j]. */
export function outer(a: ArrayLike, b: ArrayLike): NDArray {
  const [x, y] = promoteArgs("outer", a, b);
  checkSize("outer", [x.size, y.size]);
  return multiply(lax.reshape(x, [x.size, 1]), lax.reshape(y, [1, y.size]));
}

/** tensordot's `axes`: a count N, or a pair [axesOfA, axesOfB]. */
export type TensordotAxes = number | readonly [number | readonly number[], number | readonly number[]];

/**
 * jnp.tensordot(a, b, axes = 2): an integer N contracts the last N axes of a with the first N
 * of b; a pair [axesA, axesB] contracts those axes pairwise. Result: a's free axes, then b's.
 */
export function tensordot(a: ArrayLike, b: ArrayLike, axesOrOpts?: TensordotAxes | (DotOptions & { axes?: TensordotAxes }), opts: DotOptions = {}): NDArray {
  const { value: axes, opts: o } = positionalOrOption<TensordotAxes>("tensordot", axesOrOpts, "axes", 2, TENSORDOT_OPTS);
  const [x, y, pet] = operands("tensordot", a, b, { ...checkOptions("tensordot", opts, DOT_OPTS), ...o }, TENSORDOT_OPTS);
  let ca: number[], cb: number[];
  if (typeof axes === "number") {
    if (!Number.isInteger(axes) || axes < 0) throw new ValueError(`tensordot: axes must be a non-negative integer or a pair of sequences, got ${axes}`);
    if (axes > x.ndim || axes > y.ndim) throw new ValueError(`tensordot: Number of tensordot axes (axes ${axes}) exceeds input ranks (${x.ndim} and ${y.ndim})`);
    ca = range(axes).map((i) => x.ndim - axes + i);
    cb = range(axes);
  } else if (Array.isArray(axes) && axes.length === 2) {
    const list = (v: unknown): number[] => {
      if (typeof v === "number") return [v];
      if (Array.isArray(v)) return [...v];
      throw new AxisError(`tensordot: each entry of an axes pair must be an axis or a list of axes, got ${describeValue(v)}`);
    };
    const la = list(axes[0]);
    const lb = list(axes[1]);
    if (la.length !== lb.length) throw new ValueError(`tensordot: tensordot requires axes lists to have equal length, got [${la.join(", ")}] and [${lb.join(", ")}]`);
    ca = la.map((d) => normalizeAxis("tensordot", d, x.ndim));
    cb = lb.map((d) => normalizeAxis("tensordot", d, y.ndim));
  } else throw new ValueError(`tensordot: tensordot axes argument must be an int or a pair of sequences, got ${describeValue(axes)}`);
  ca.forEach((d, i) => {
    if (x.shape[d] !== y.shape[cb[i]])
      throw new ShapeError(`tensordot: shape-mismatch for sum: axis ${d} of ${fmtShape(x.shape)} has size ${x.shape[d]} but axis ${cb[i]} of ${fmtShape(y.shape)} has size ${y.shape[cb[i]]}`);
  });
  return dg(x, y, [[ca, cb], [[], []]], pet);
}

/** jnp.kron(a, b): the Kronecker product, as a broadcast multiply and a reshape. */
export function kron(a: ArrayLike, b: ArrayLike): NDArray {
  let [x, y] = promoteArgs("kron", a, b);
  const nd = Math.max(x.ndim, y.ndim);
  x = lax.reshape(x, [...new Array(nd - x.ndim).fill(1), ...x.shape]);
  y = lax.reshape(y, [...new Array(nd - y.ndim).fill(1), ...y.shape]);
  checkSize("kron", x.shape.map((d, i) => d * y.shape[i]));
  // out[i * n + j] = x[i] * y[j] per axis: x as [m0, 1, m1, 1, ...] times y as [1, n0, 1, n1, ...].
  const xi = lax.reshape(x, x.shape.flatMap((d) => [d, 1]));
  const yi = lax.reshape(y, y.shape.flatMap((d) => [1, d]));
  return lax.reshape(multiply(xi, yi), x.shape.map((d, i) => d * y.shape[i]));
}

// ---- einsum ----

/** Options of einsum (JAX keywords `optimize`, `precision`, `preferred_element_type`). */
export interface EinsumOptions extends DotOptions {
  /** Accepted for compatibility; the contraction order is always chosen greedily. */
  optimize?: unknown;
}

interface Term {
  x: NDArray;
  labels: string[];
}

const ELL = "\u2026"; // ellipsis axes get labels "…0", "…1", ... (right-aligned across operands)

/** Splits one term into labels, expanding "..." to `ellRank` axes labelled from the right. */
function termLabels(term: string, ndim: number | null, ellRank: number, where: string): { labels: string[]; hasEll: boolean; letters: number } {
  const parts = term.split("...");
  if (parts.length > 2) throw new ValueError(`einsum: ${where} '${term}' contains more than one ellipsis`);
  for (const c of parts.join(""))
    if (!/[a-zA-Z]/.test(c)) throw new ValueError(`einsum: invalid subscript '${c}' in einstein sum subscripts string, subscripts must be letters`);
  const letters = parts.join("").length;
  if (parts.length === 1) {
    if (ndim !== null && ndim !== letters)
      throw new ValueError(`einsum: ${where} '${term}' has ${letters} subscripts but the operand has ${ndim} dimensions (use '...' to broadcast extra dimensions)`);
    return { labels: [...term], hasEll: false, letters };
  }
  const r = ndim === null ? ellRank : ndim - letters;
  if (r < 0) throw new ValueError(`einsum: ${where} '${term}' has more subscripts than the operand's ${ndim} dimensions`);
  const ell = range(r).map((i) => `${ELL}${ellRank - r + i}`);
  return { labels: [...parts[0], ...ell, ...parts[1]], hasEll: true, letters };
}

function parseEinsum(subscripts: string, ndims: number[]): { inputs: string[][]; output: string[] } {
  const s = subscripts.replace(/\s+/g, "");
  const arrow = s.split("->");
  if (arrow.length > 2) throw new ValueError(`einsum: subscripts may contain only one '->', got '${subscripts}'`);
  const terms = arrow[0].split(",");
  if (terms.length !== ndims.length)
    throw new ValueError(`einsum: ${ndims.length > terms.length ? "more" : "fewer"} operands provided to einstein sum function than specified in the subscripts string, got ${ndims.length} operands for '${subscripts}'`);
  // Ellipsis axes are right-aligned, so the widest ellipsis fixes the labels.
  const ellRank = Math.max(0, ...terms.map((t, k) => (t.includes("...") ? ndims[k] - t.replace("...", "").length : 0)));
  const inputs = terms.map((t, k) => termLabels(t, ndims[k], ellRank, `operand ${k} subscripts`).labels);
  const count = new Map<string, number>();
  for (const l of inputs.flat()) count.set(l, (count.get(l) ?? 0) + 1);
  if (arrow.length === 1) {
    // Implicit output: broadcast axes first, then the letters appearing exactly once, sorted.
    const ell = range(ellRank).map((i) => `${ELL}${i}`).filter((l) => count.has(l));
    const once = [...count.keys()].filter((l) => !l.startsWith(ELL) && count.get(l) === 1).sort();
    return { inputs, output: [...ell, ...once] };
  }
  const { labels } = termLabels(arrow[1], null, ellRank, "output subscripts");
  const output = labels.filter((l) => !l.startsWith(ELL) || count.has(l));
  const seen = new Set<string>();
  for (const l of output) {
    if (seen.has(l)) throw new ValueError(`einsum: einstein sum subscripts string includes output subscript '${l}' multiple times`);
    if (!count.has(l)) throw new ValueError(`einsum: einstein sum subscripts string included output subscript '${l}' which never appeared in an input`);
    seen.add(l);
  }
  return { inputs, output };
}

const showLabel = (l: string): string => (l.startsWith(ELL) ? "..." : l);

/**
 * jnp.einsum(subscripts, ...operands, options?): NumPy's Einstein summation. Supports explicit
 * (`ij,jk->ik`) and implicit (`ij,jk`) outputs, `...` broadcasting, repeated indices within an
 * operand (diagonals: `ii->i`, traces: `ii`), and sums over indices absent from the output.
 * Indices seen by one operand only are summed first; the rest contract pairwise with dot_general,
 * choosing greedily the pair with the smallest result (preferring pairs that share an index).
 */
export function einsum(subscripts: string, ...args: (ArrayLike | EinsumOptions)[]): NDArray {
  if (typeof subscripts !== "string") throw new ArgumentError(`einsum: subscripts must be a string such as "ij,jk->ik", got ${describeValue(subscripts)}`);
  const last = args[args.length - 1];
  const opts = checkOptions<EinsumOptions>("einsum", args.length > 0 && isPlainObject(last) ? args.pop() : undefined, EINSUM_OPTS);
  if (args.length === 0) throw new ValueError("einsum: at least one operand is required, got 0");
  let xs = promoteArgs("einsum", ...(args as ArrayLike[]));
  if (opts.preferredElementType) {
    const pet = toDType(opts.preferredElementType, "einsum");
    xs = xs.map((x) => astype(x, pet));
  }
  const { inputs, output } = parseEinsum(subscripts, xs.map((x) => x.ndim));

  // Each label's size; size-1 axes broadcast against larger ones (NumPy and JAX allow it).
  const size = new Map<string, number>();
  inputs.forEach((labels, k) =>
    labels.forEach((l, i) => {
      const n = xs[k].shape[i];
      const first = labels.indexOf(l);
      if (first < i && xs[k].shape[first] !== n)
        throw new ShapeError(`einsum: dimensions in operand ${k} for collapsing index '${showLabel(l)}' don't match (${xs[k].shape[first]} != ${n})`);
      const prev = size.get(l);
      if (prev === undefined || prev === 1) size.set(l, n);
      else if (n !== 1 && n !== prev)
        throw new ShapeError(`einsum: Size of label '${showLabel(l)}' for operand ${k} (${n}) does not match previous terms (${prev}), got shapes ${xs.map((x) => fmtShape(x.shape)).join(", ")}`);
    }),
  );

  checkSize("einsum", output.map((l) => size.get(l)!));
  let terms: Term[] = xs.map((x, k) => prepare(x, inputs[k], size));
  const needed = (skip: Term[]): Set<string> => new Set([...output, ...terms.filter((t) => !skip.includes(t)).flatMap((t) => t.labels)]);
  terms = terms.map((t) => sumUnneeded(t, needed([t])));
  while (terms.length > 1) {
    let best: [number, number] = [0, 1];
    let bestCost: [number, number] = [Infinity, Infinity];
    for (let i = 0; i < terms.length; i++)
      for (let j = i + 1; j < terms.length; j++) {
        const keep = needed([terms[i], terms[j]]);
        const res = new Set([...terms[i].labels, ...terms[j].labels].filter((l) => keep.has(l)));
        const shares = terms[i].labels.some((l) => terms[j].labels.includes(l));
        const cost: [number, number] = [shares ? 0 : 1, [...res].reduce((p, l) => p * size.get(l)!, 1)];
        if (cost[0] < bestCost[0] || (cost[0] === bestCost[0] && cost[1] < bestCost[1])) (best = [i, j]), (bestCost = cost);
      }
    const [A, B] = [terms[best[0]], terms[best[1]]];
    const keep = needed([A, B]);
    const merged = sumUnneeded(contract(A, B, keep), keep);
    terms = [...terms.slice(0, best[0]), merged, ...terms.slice(best[0] + 1, best[1]), ...terms.slice(best[1] + 1)];
  }
  const t = sumUnneeded(terms[0], new Set(output));
  const perm = output.map((l) => t.labels.indexOf(l));
  return perm.every((p, i) => p === i) ? t.x : lax.transpose(t.x, perm);
}

/** Takes diagonals of repeated labels and broadcasts size-1 axes to their label's size. */
function prepare(x0: NDArray, labels0: string[], size: Map<string, number>): Term {
  let x = x0;
  let labels = [...labels0];
  for (;;) {
    const q = labels.findIndex((l, i) => labels.indexOf(l) !== i);
    if (q < 0) break;
    const p = labels.indexOf(labels[q]);
    // diagonal() drops both axes and appends the diagonal last.
    x = diagonal(x, { axis1: p, axis2: q });
    labels = [...labels.filter((_, i) => i !== p && i !== q), labels[q]];
  }
  const full = labels.map((l) => size.get(l)!);
  if (full.some((n, i) => n !== x.shape[i])) x = lax.broadcastInDim(x, full, range(x.ndim));
  return { x, labels };
}

/** Sums the axes whose labels are not in `keep` (they appear nowhere else). */
function sumUnneeded(t: Term, keep: Set<string>): Term {
  const axes = t.labels.map((l, i) => (keep.has(l) ? -1 : i)).filter((i) => i >= 0);
  if (axes.length === 0) return t;
  return { x: lax.reduceSum(t.x, axes), labels: t.labels.filter((l) => keep.has(l)) };
}

/** One dot_general: shared labels still needed become batch axes, the other shared ones contract. */
function contract(A: Term, B: Term, keep: Set<string>): Term {
  const shared = A.labels.filter((l) => B.labels.includes(l));
  const batch = shared.filter((l) => keep.has(l));
  const summed = shared.filter((l) => !keep.has(l));
  const idx = (t: Term, ls: string[]) => ls.map((l) => t.labels.indexOf(l));
  const x = lax.dotGeneral(A.x, B.x, [[idx(A, summed), idx(B, summed)], [idx(A, batch), idx(B, batch)]]);
  const freeA = A.labels.filter((l) => !shared.includes(l));
  const freeB = B.labels.filter((l) => !shared.includes(l));
  return { x, labels: [...batch, ...freeA, ...freeB] };
}
