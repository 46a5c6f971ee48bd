// NumPy indexing with JAX's semantics (jax/_src/numpy/indexing.py): `x.get(...)` is
// `x[...]`, `x.at(...)` is `x.at[...]` (kernel/api/index-update.ts), plus take, takeAlongAxis,
// nonzero, argwhere, flatnonzero and iteration over the leading axis.
//
// An index is parsed once (`parseIndex`: strings, masks and nested lists become a list of
// `ParsedItem`s). Reads of ints/slices/new axes lower to slice + rev + squeeze + expand_dims
// (JAX's fast path, extended to strided slices and new axes, which JAX sends to a gather);
// everything else lowers to ONE gather whose dimension numbers come from `indexToGather`, the
// port of JAX's `_index_to_gather`, which the scatter of `x.at(...)` shares.
// Out-of-bounds reads clamp (or fill), negative indices wrap first; see shared/jax-reference.md §3.

import { ShapedArray } from "../core/aval";
import { int32 } from "../core/dtype";
import { ConcretizationError, IndexError, ValueError, fmtShape } from "../core/errors";
import { HostData, NDArray, fromStorage } from "../core/ndarray";
import { OptionSpec, broadcastShapes, checkOptions, describeValue, sizeOf, stridesOf } from "../core/shape";
import { Tracer } from "../core/trace";
import { GatherDimensionNumbers } from "../primitives/indexing";
import { astype } from "./convert";
import { IndexUpdateRef, at } from "./index-update";
import * as lax from "./lax";

export { IndexUpdateRef, at } from "./index-update";
export type { UpdateOptions } from "./index-update";
export { take, takeAlongAxis, nonzero, argwhere, flatnonzero } from "./index-update";
export type { TakeOptions } from "./index-update";

/** A nested JS list used as an index: integers (an integer array) or booleans (a mask). */
export type IndexList = readonly (number | boolean | NDArray | IndexList)[];

/**
 * One item of an index, as `x.get(...items)` takes them: an integer, a slice string (`"1:3"`,
 * `"::2"`, `":"`, `"-1:"`, `"::-1"`), `"..."`, `null` (a new axis), an integer array (NDArray,
 * nested JS list or integer typed array), a boolean mask, or a scalar boolean. A string with
 * commas holds several items: `"1:3, ::2"`, `"..., 0"`, `"None, :"`.
 */
export type IndexItem = number | boolean | string | null | NDArray | IndexList | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** Out-of-bounds handling of `x.at(...).get/set/...`: JAX's GatherScatterMode names. */
export type Mode = "clip" | "fill" | "drop" | "promise_in_bounds";

/** Integer index values built on the host (from JS lists, masks, slices): folded without primitives. */
export class HostIndex {
  constructor(
    readonly data: Int32Array,
    readonly shape: number[],
  ) {}
  /** Host integers as int32; values beyond int32 saturate, so they stay out of bounds instead of wrapping. */
  static of(values: ArrayLike<number | boolean>, shape: number[]): HostIndex {
    return new HostIndex(Int32Array.from(values as ArrayLike<number>, (v) => Math.min(Math.max(+v, -(2 ** 31)), 2 ** 31 - 1)), shape);
  }
}

/** A parsed index item (masks are already expanded to integer arrays). */
export type ParsedItem =
  | { kind: "int"; value: number | NDArray } // a static int or a 0-d integer array
  | { kind: "slice"; start: number | null; stop: number | null; step: number | null }
  | { kind: "ellipsis" }
  | { kind: "newaxis" }
  | { kind: "array"; value: NDArray | HostIndex } // an integer array of rank >= 1
  | { kind: "bool"; value: boolean }; // a scalar boolean: a new axis of size 1 (true) or 0 (false)

const INT_RE = /^[+-]?\d+$/;
const INT_TYPED = [Int8Array, Int16Array, Int32Array, Uint8Array, Uint16Array, Uint32Array];
const NEWAXIS = new Set(["None", "newaxis", "np.newaxis", "jnp.newaxis"]);

function badString(op: string, s: string): IndexError {
  return new IndexError(`${op}: invalid index string ${JSON.stringify(s)}; expected an integer, a slice like "1:3", "::2" or "-1:", "..." or "None"`);
}

/** One comma-free piece of an index string. */
function parseStringPart(op: string, part: string, whole: string): ParsedItem {
  const s = part.trim();
  if (s === "...") return { kind: "ellipsis" };
  if (NEWAXIS.has(s)) return { kind: "newaxis" };
  if (INT_RE.test(s)) return { kind: "int", value: Number(s) };
  const bits = s.split(":");
  if (bits.length < 2 || bits.length > 3) throw badString(op, whole);
  const nums = bits.map((b) => {
    const t = b.trim();
    if (t === "") return null;
    if (!INT_RE.test(t)) throw badString(op, whole);
    return Number(t);
  });
  if (nums[2] === 0) throw new IndexError(`${op}: slice step cannot be zero, got ${JSON.stringify(whole)}`);
  return { kind: "slice", start: nums[0], stop: nums[1], step: nums[2] ?? null };
}

function floatIndexError(op: string, pos: number, dtype: string, value: string): IndexError {
  return new IndexError(`${op}: Indexer must have integer or boolean type, got indexer with type ${dtype} at position ${pos}, indexer value ${value}`);
}

/** Walks a nested JS list into shape + values; null when it holds NDArrays (asArray stacks those). */
function walkList(op: string, x: IndexList): { shape: number[]; values: (number | boolean)[] } | null {
  const shape: number[] = [];
  for (let cur: unknown = x; Array.isArray(cur); cur = cur[0]) {
    shape.push(cur.length);
    if (cur.length === 0) break;
  }
  const values: (number | boolean)[] = [];
  let sawArray = false;
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (v instanceof NDArray) sawArray = true;
      else if (typeof v === "number" || typeof v === "boolean") values.push(v);
      else throw new IndexError(`${op}: an index list must hold integers or booleans, got ${v === null ? "null" : typeof v}`);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new IndexError(`${op}: an index list must not be ragged, got ${describeValue(x)}`);
    for (const e of v) walk(e, depth + 1);
  };
  walk(x, 0);
  return sawArray ? null : { shape, values };
}

/** Reads a boolean index on the host: masks need concrete values, as in JAX. */
export function concreteData(op: string, x: NDArray, what: string): HostData {
  if (x instanceof Tracer) {
    const c = x.toConcrete();
    if (!c)
      throw new ConcretizationError(
        `${op}: ${what} must be concrete; got abstract ${x.aval.toString()}. Its value depends on a traced argument, so the result shape would too.`,
      );
    return c.dataSync();
  }
  return x.dataSync();
}

/** Indices of the true entries of a mask, one Int32Array per axis (NumPy's nonzero). */
export function nonzeroHost(data: HostData, shape: readonly number[]): Int32Array[] {
  let count = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) count++;
  const out = shape.map(() => new Int32Array(count));
  const strides = stridesOf(shape);
  for (let i = 0, k = 0; i < data.length; i++) {
    if (data[i] === 0) continue;
    shape.forEach((_, d) => (out[d][k] = Math.floor(i / strides[d]) % shape[d]));
    k++;
  }
  return out;
}

/** Classifies one non-string item (before mask expansion: masks stay as "mask"). */
function classify(op: string, item: unknown, pos: number): ParsedItem | { kind: "mask"; shape: number[]; data: HostData | (number | boolean)[] } {
  if (item === null) return { kind: "newaxis" };
  if (typeof item === "boolean") return { kind: "bool", value: item };
  if (typeof item === "number") {
    if (!Number.isInteger(item)) throw floatIndexError(op, pos, "float32", String(item));
    return { kind: "int", value: item };
  }
  let arr: NDArray | null = null;
  if (item instanceof NDArray) arr = item;
  else if (Array.isArray(item)) {
    const walked = walkList(op, item as IndexList);
    if (walked) {
      const { shape, values } = walked;
      if (values.length > 0 && values.every((v) => typeof v === "boolean")) return { kind: "mask", shape, data: values };
      for (const v of values) if (!Number.isInteger(+v)) throw floatIndexError(op, pos, "float32", describeValue(item));
      return { kind: "array", value: HostIndex.of(values, shape) };
    }
    arr = lax.laxArgs(op, [item as IndexList])[0];
  } else if (INT_TYPED.some((c) => item instanceof c)) {
    const t = item as Int32Array;
    return { kind: "array", value: HostIndex.of(t, [t.length]) };
  } else if (typeof item === "string") {
    throw badString(op, item);
  } else {
    throw new IndexError(`${op}: Indexer must have integer or boolean type, got ${describeValue(item)} at position ${pos}`);
  }
  if (arr.dtype.isBool) {
    if (arr.ndim === 0) return { kind: "bool", value: concreteData(op, arr, "Array boolean indices")[0] !== 0 };
    return { kind: "mask", shape: [...arr.shape], data: concreteData(op, arr, "Array boolean indices") };
  }
  if (!arr.dtype.isInt) throw floatIndexError(op, pos, arr.dtype.name, arr.aval.str());
  return arr.ndim === 0 ? { kind: "int", value: arr } : { kind: "array", value: arr };
}

/**
 * Parses `items` for an array of shape `shape`: splits comma strings, checks types and the
 * number of indices, and expands boolean masks (which must be concrete) to integer arrays.
 */
export function parseIndex(op: string, items: readonly IndexItem[], shape: readonly number[]): ParsedItem[] {
  const raw: ReturnType<typeof classify>[] = [];
  for (const item of items) {
    if (typeof item !== "string") {
      raw.push(classify(op, item, raw.length));
      continue;
    }
    const parts = item.split(",");
    // A trailing comma is allowed, as in Python's `x[1:3,]`.
    if (parts.length > 1 && parts[parts.length - 1].trim() === "") parts.pop();
    for (const p of parts) {
      if (p.trim() === "") throw badString(op, item);
      raw.push(parseStringPart(op, p, item));
    }
  }
  if (raw.filter((e) => e.kind === "ellipsis").length > 1) throw new IndexError(`${op}: an index can only have a single ellipsis ('...')`);
  const consumed = (e: (typeof raw)[number]) => (e.kind === "mask" ? e.shape.length : e.kind === "newaxis" || e.kind === "ellipsis" || e.kind === "bool" ? 0 : 1);
  const total = raw.reduce((a, e) => a + consumed(e), 0);
  if (total > shape.length)
    throw new IndexError(`${op}: too many indices for array: array is ${shape.length}-dimensional, but ${total} were indexed`);
  // Masks become one integer array per mask axis (JAX's _expand_bool_indices).
  const out: ParsedItem[] = [];
  let axis = 0;
  raw.forEach((e, pos) => {
    if (e.kind === "ellipsis") axis += shape.length - total;
    if (e.kind !== "mask") {
      out.push(e);
      axis += consumed(e);
      return;
    }
    const expected = shape.slice(axis, axis + e.shape.length);
    if (e.shape.some((s, i) => s !== 0 && s !== expected[i]))
      throw new IndexError(`${op}: boolean index did not match shape of indexed array in index ${pos}: got ${fmtShape(e.shape)}, expected ${fmtShape(expected)}`);
    const data = Array.isArray(e.data) ? Uint8Array.from(e.data, Number) : (e.data as HostData);
    for (const ix of nonzeroHost(data, e.shape)) out.push({ kind: "array", value: new HostIndex(ix, [ix.length]) });
    axis += e.shape.length;
  });
  return out;
}

/** Python's slice.indices + size: [start, step, size] for an axis of size n. */
export function canonicalizeSlice(s: { start: number | null; stop: number | null; step: number | null }, n: number): [number, number, number] {
  const step = s.step ?? 1;
  const [lo, hi] = step > 0 ? [0, n] : [-1, n - 1];
  const fix = (v: number | null, dflt: number) => (v === null ? dflt : v < 0 ? Math.max(v + n, lo) : Math.min(v, hi));
  const start = fix(s.start, step > 0 ? lo : hi);
  const stop = fix(s.stop, step > 0 ? hi : lo);
  const size = step > 0 ? Math.max(0, Math.ceil((stop - start) / step)) : Math.max(0, Math.ceil((start - stop) / -step));
  return [start, step, size];
}

/** Removes the ellipsis and pads with trailing full slices (JAX's _canonicalize_tuple_index). */
function canonicalizeTuple(ndim: number, idx: readonly ParsedItem[]): ParsedItem[] {
  const full: ParsedItem = { kind: "slice", start: null, stop: null, step: null };
  const consumed = idx.filter((e) => e.kind !== "newaxis" && e.kind !== "ellipsis" && e.kind !== "bool").length;
  const colons = Array.from({ length: ndim - consumed }, () => full);
  const e = idx.findIndex((x) => x.kind === "ellipsis");
  return e < 0 ? [...idx, ...colons] : [...idx.slice(0, e), ...colons, ...idx.slice(e + 1)];
}

/** Wraps negative indices of a traced/device integer index (JAX's _normalize_index), as int32. */
export function normalizeIndexArray(a: NDArray, n: number): NDArray {
  const b = astype(a, int32);
  if (a.dtype.isUnsigned) return b;
  return lax.select(lax.lt(b, 0), lax.add(b, n), b);
}

type IndexVal = NDArray | HostIndex;
function normalizeVal(v: number | IndexVal, n: number): IndexVal {
  if (typeof v === "number") return HostIndex.of([v < 0 ? v + n : v], []);
  if (v instanceof HostIndex) return new HostIndex(v.data.map((i) => (i < 0 ? i + n : i)), v.shape);
  return normalizeIndexArray(v, n);
}

function toDevice(v: IndexVal): NDArray {
  return v instanceof HostIndex ? fromStorage(v.data, new ShapedArray(v.shape, int32)) : v;
}

/** The gather computing x[idx] and, transposed, the scatter of x.at[idx] (JAX's _Indexer). */
export interface Indexer {
  /** Shape of x[idx]. */
  sliceShape: number[];
  /** slice_sizes of the gather. */
  gatherSliceShape: number[];
  /** Index vectors along the last axis; null when there are none (the whole operand is the window). */
  gatherIndices: NDArray | null;
  dnums: GatherDimensionNumbers;
  /** True without advanced indices: only those can repeat or be unsorted. */
  uniqueIndices: boolean;
  indicesAreSorted: boolean;
  /** Result axes of negative-step slices: the gather reads them ascending, then they are reversed. */
  reversedYDims: number[];
  /** Result axes made by `null` (new axes): inserted after a gather, squeezed out of scatter updates. */
  newaxisDims: number[];
  /** Operand axes inserted for scalar booleans before the gather/scatter. */
  scalarBoolDims: number[];
}

/** Builds [...shape, entries.length] int32 index vectors, each entry broadcast into its dims. */
function assembleIndices(entries: { val: IndexVal; start: number; width: number }[], shape: number[]): NDArray {
  const k = entries.length;
  const dimsOf = (e: (typeof entries)[number]) => {
    const r = e.val.shape.length;
    return Array.from({ length: r }, (_, a) => e.start + e.width - r + a);
  };
  if (entries.every((e) => e.val instanceof HostIndex)) {
    const total = sizeOf(shape);
    const out = new Int32Array(total * k);
    const outStrides = stridesOf(shape);
    entries.forEach((e, j) => {
      const h = e.val as HostIndex;
      const hs = stridesOf(h.shape);
      const dims = dimsOf(e);
      for (let p = 0; p < total; p++) {
        let off = 0;
        dims.forEach((d, a) => (off += h.shape[a] === 1 ? 0 : (Math.floor(p / outStrides[d]) % shape[d]) * hs[a]));
        out[p * k + j] = h.data[off];
      }
    });
    return fromStorage(out, new ShapedArray([...shape, k], int32));
  }
  const parts = entries.map((e) => {
    const g = toDevice(e.val);
    const same = g.ndim === shape.length && g.shape.every((s, i) => s === shape[i]);
    return same ? lax.reshape(g, [...shape, 1]) : lax.broadcastInDim(g, [...shape, 1], dimsOf(e));
  });
  return parts.length === 1 ? parts[0] : lax.concatenate(parts, shape.length);
}

/**
 * Port of JAX's `_index_to_gather`: the gather (dimension numbers, slice sizes, index vectors)
 * that reads x[idx]; `x.at(idx)` scatters use the same record transposed.
 */
export function indexToGather(op: string, xShapeIn: readonly number[], idxIn: readonly ParsedItem[], normalizeIndices = true): Indexer {
  // NumPy moves the advanced axes to the front when ints/arrays are not adjacent in the
  // index as written (ellipsis included, https://github.com/jax-ml/jax/issues/25109).
  const advPos = idxIn.flatMap((e, i) => (e.kind === "int" || e.kind === "array" || e.kind === "bool" ? [i] : []));
  const contiguous = advPos.every((p, k) => k === 0 || p === advPos[k - 1] + 1);
  // Scalar booleans insert a size-1 operand axis indexed by [0] (true) or [] (false).
  const xShape = [...xShapeIn];
  const scalarBoolDims: number[] = [];
  let ax = 0;
  const idx = canonicalizeTuple(xShapeIn.length, idxIn).map((e): ParsedItem => {
    if (e.kind === "bool") {
      scalarBoolDims.push(ax);
      xShape.splice(ax++, 0, 1);
      return { kind: "array", value: new HostIndex(e.value ? Int32Array.of(0) : new Int32Array(0), [e.value ? 1 : 0]) };
    }
    if (e.kind !== "newaxis") ax++;
    return e;
  });

  const advanced = idx.some((e) => e.kind === "array");
  const advVals: IndexVal[] = [];
  const idxAdvAxes: number[] = [];
  const xAdvAxes: number[] = [];
  if (advanced) {
    let j = 0;
    idx.forEach((e, i) => {
      if (e.kind === "newaxis") return;
      if (e.kind === "int" || e.kind === "array") {
        // XLA cannot gather a size-1 window from an empty axis.
        if (xShape[j] === 0 && (typeof e.value === "number" || sizeOf(e.value.shape) > 0))
          throw new IndexError(`${op}: index is out of bounds for axis ${j} with size 0`);
        advVals.push(normalizeIndices ? normalizeVal(e.value, xShape[j]) : typeof e.value === "number" ? HostIndex.of([e.value], []) : e.value);
        idxAdvAxes.push(i);
        xAdvAxes.push(j);
      }
      j++;
    });
  }

  let xAxis = 0; // current axis of x
  let yAxis = 0; // current axis of the result, new axes included
  let cyAxis = 0; // current axis of the gather's output (new axes not yet inserted)
  const offsetDims: number[] = [];
  const collapsed: number[] = [];
  const startIndexMap: number[] = [];
  const entries: { val: IndexVal; start: number; width: number }[] = [];
  const giShape: number[] = [];
  const sliceShape: number[] = [];
  const newaxisDims: number[] = [];
  const reversedYDims: number[] = [];
  const gatherSliceShape: number[] = [];

  idx.forEach((e, pos) => {
    if (advanced && ((contiguous && pos === idxAdvAxes[0]) || (!contiguous && pos === 0))) {
      let shape: number[];
      try {
        shape = broadcastShapes(op, ...advVals.map((v) => v.shape));
      } catch {
        throw new IndexError(`${op}: shape mismatch: indexing arrays could not be broadcast together with shapes ${advVals.map((v) => fmtShape(v.shape)).join(" ")}`);
      }
      const start = giShape.length;
      for (const v of advVals) entries.push({ val: v, start, width: shape.length });
      giShape.push(...shape);
      startIndexMap.push(...xAdvAxes);
      collapsed.push(...xAdvAxes);
      sliceShape.push(...shape);
      yAxis += shape.length;
      cyAxis += shape.length;
    }
    if (idxAdvAxes.includes(pos)) {
      xAxis++;
      gatherSliceShape.push(1);
      return;
    }
    if (e.kind === "int") {
      const n = xShape[xAxis];
      if (n === 0) throw new IndexError(`${op}: index is out of bounds for axis ${xAxis} with size 0`);
      const v = e.value;
      const val = normalizeIndices ? normalizeVal(v, n) : typeof v === "number" ? HostIndex.of([v], []) : astype(v, int32);
      entries.push({ val, start: giShape.length, width: 0 });
      collapsed.push(xAxis);
      gatherSliceShape.push(1);
      startIndexMap.push(xAxis);
      xAxis++;
    } else if (e.kind === "newaxis") {
      sliceShape.push(1);
      newaxisDims.push(yAxis);
      yAxis++;
    } else if (e.kind === "slice") {
      const n = xShape[xAxis];
      const [start, step, size] = canonicalizeSlice(e, n);
      sliceShape.push(size);
      if (step === 1) {
        // A full slice needs no index vector (avoids a trivial gather index).
        if (size !== n) {
          entries.push({ val: new HostIndex(Int32Array.of(start), []), start: giShape.length, width: 0 });
          startIndexMap.push(xAxis);
        }
        gatherSliceShape.push(size);
        offsetDims.push(cyAxis);
      } else {
        // Strided slices gather one element per step, read in ascending order.
        const vals = Int32Array.from({ length: size }, (_, k) => start + step * k);
        if (step < 0) {
          reversedYDims.push(cyAxis);
          vals.reverse();
        }
        gatherSliceShape.push(1);
        entries.push({ val: new HostIndex(vals, [size]), start: giShape.length, width: 1 });
        startIndexMap.push(xAxis);
        giShape.push(size);
        collapsed.push(xAxis);
      }
      cyAxis++;
      yAxis++;
      xAxis++;
    }
  });

  return {
    sliceShape,
    gatherSliceShape,
    gatherIndices: entries.length === 0 ? null : assembleIndices(entries, giShape),
    dnums: { offset_dims: offsetDims, collapsed_slice_dims: [...collapsed].sort((a, b) => a - b), start_index_map: startIndexMap },
    uniqueIndices: !advanced,
    indicesAreSorted: !advanced,
    reversedYDims,
    newaxisDims,
    scalarBoolDims,
  };
}

/** The options of `x.at(...).get(...)` (a read with a mode). */
export const GET_OPTS: OptionSpec = { mode: ["clip", "fill", "drop", "promise_in_bounds"], fillValue: "any", indicesAreSorted: "boolean", uniqueIndices: "boolean" };

/** Options of a read: out-of-bounds mode and gather hints. */
export interface GetOptions {
  mode?: Mode;
  /** Value read for out-of-bounds indices in "fill" mode (default: NaN, int min, uint max, true). */
  fillValue?: number | boolean | null;
  indicesAreSorted?: boolean;
  uniqueIndices?: boolean;
}

/**
 * x[idx] through lax.slice/rev/dynamic_slice/squeeze/expand_dims when the index has only ints,
 * slices, new axes and an ellipsis; null otherwise (JAX's _attempt_rewriting_take_via_slice).
 */
function takeViaSlice(op: string, x: NDArray, idx: readonly ParsedItem[], mode: Mode | undefined): NDArray | null {
  if (idx.some((e) => e.kind === "array" || e.kind === "bool")) return null;
  // Clamping out-of-range ints here gives what the gather would; "fill"/"drop" must gather.
  const clampOk = mode === undefined || mode === "promise_in_bounds" || mode === "clip";
  const items = canonicalizeTuple(x.ndim, idx);
  const starts: number[] = [];
  const limits: number[] = [];
  const strides: number[] = [];
  const revDims: number[] = [];
  const intDims: number[] = [];
  const dynamic = new Map<number, NDArray>();
  const newaxisOut: number[] = [];
  let axis = 0;
  let outAxis = 0;
  for (const e of items) {
    if (e.kind === "newaxis") {
      newaxisOut.push(outAxis++);
      continue;
    }
    const n = x.shape[axis];
    if (e.kind === "int") {
      if (n === 0) throw new IndexError(`${op}: index is out of bounds for axis ${axis} with size 0`);
      if (typeof e.value === "number") {
        let i = e.value < 0 ? e.value + n : e.value;
        if (i < 0 || i >= n) {
          if (!clampOk) return null;
          i = Math.min(Math.max(i, 0), n - 1);
        }
        starts.push(i), limits.push(i + 1), strides.push(1);
      } else {
        if (!clampOk) return null;
        dynamic.set(axis, normalizeIndexArray(e.value, n));
        starts.push(0), limits.push(n), strides.push(1);
      }
      intDims.push(axis);
    } else if (e.kind === "slice") {
      const [start, step, size] = canonicalizeSlice(e, n);
      // A negative step reads the reversed axis forward: element i sits at n - 1 - i there.
      const first = step > 0 ? start : n - 1 - start;
      if (step < 0) revDims.push(axis);
      starts.push(size ? first : 0), limits.push(size ? first + (size - 1) * Math.abs(step) + 1 : 0), strides.push(Math.abs(step));
      outAxis++;
    }
    axis++;
  }
  let y = x;
  if (revDims.length) y = lax.rev(y, revDims);
  if (starts.some((s, d) => s !== 0 || limits[d] !== x.shape[d] || strides[d] !== 1))
    y = lax.slice(y, starts, limits, strides.every((s) => s === 1) ? null : strides);
  if (dynamic.size) y = lax.dynamicSlice(y, y.shape.map((_, d) => dynamic.get(d) ?? 0), y.shape.map((s, d) => (dynamic.has(d) ? 1 : s)));
  if (intDims.length) y = lax.squeeze(y, intDims);
  if (newaxisOut.length) y = lax.expandDims(y, newaxisOut);
  return y;
}

/** An array of zeros (x[idx] with an empty result needs no gather). */
function zerosLike(x: NDArray, shape: number[]): NDArray {
  return fromStorage(new x.dtype.storage(sizeOf(shape)), new ShapedArray(shape, x.dtype, x.weakType));
}

/** x[idx] for a parsed index (JAX's rewriting_take). */
export function rewritingTake(op: string, x: NDArray, idx: readonly ParsedItem[], opts: GetOptions = {}): NDArray {
  const fill = opts.fillValue;
  if (fill !== undefined && fill !== null && typeof fill !== "number" && typeof fill !== "boolean")
    throw new ValueError(`${op}: fill_value argument to indexed get() must be a scalar, got ${describeValue(fill)}`);
  const fast = takeViaSlice(op, x, idx, opts.mode);
  if (fast) return fast;
  const ind = indexToGather(op, x.shape, idx);
  let y = x;
  if (ind.scalarBoolDims.length) y = lax.expandDims(y, ind.scalarBoolDims);
  if (ind.sliceShape.includes(0)) return zerosLike(x, ind.sliceShape);
  if (ind.gatherIndices) {
    y = lax.gather(y, ind.gatherIndices, ind.dnums, ind.gatherSliceShape, {
      mode: opts.mode ?? "promise_in_bounds",
      fillValue: fill === undefined || fill === null ? null : +fill,
      indicesAreSorted: ind.indicesAreSorted || !!opts.indicesAreSorted,
      uniqueIndices: ind.uniqueIndices || !!opts.uniqueIndices,
    });
  }
  if (ind.reversedYDims.length) y = lax.rev(y, ind.reversedYDims);
  if (ind.newaxisDims.length) y = lax.expandDims(y, ind.newaxisDims);
  return y;
}

/** `x[...items]` with NumPy semantics; out-of-bounds indices clamp, negative ones wrap first. */
export function getItem(x: NDArray, ...items: IndexItem[]): NDArray {
  return rewritingTake("get", x, parseIndex("get", items, x.shape));
}

/** `x.at[...items].get(mode=..., fill_value=...)`. */
export function getItemWithMode(x: NDArray, items: readonly IndexItem[], opts: GetOptions = {}): NDArray {
  return rewritingTake("get", x, parseIndex("get", items, x.shape), checkOptions<GetOptions>("get", opts, GET_OPTS));
}

/** Iterates the leading axis (x[0], x[1], ...), as iterating a JAX array does. */
export function iterate(x: NDArray): IterableIterator<NDArray> {
  // Thrown on the call, not on the first next(), so `[...x]` and destructuring fail alike.
  if (x.ndim === 0) throw new IndexError("iterate: iteration over a 0-d array, got shape []");
  const n = x.shape[0];
  let i = 0;
  const it: IterableIterator<NDArray> = {
    next: (): IteratorResult<NDArray> => (i < n ? { value: getItem(x, i++), done: false } : { value: undefined, done: true }),
    [Symbol.iterator]: () => it,
  };
  return it;
}

declare module "../core/ndarray" {
  interface NDArray {
    /** NumPy indexing `x[...]`: ints, slice strings ("1:3", "::-1"), "...", null, integer arrays, masks. */
    get(...items: IndexItem[]): NDArray;
    /** Indexed updates `x.at[...]`: `.set(v)`, `.add(v)`, `.multiply(v)`, `.min(v)`, `.max(v)`, `.get(opts)`. */
    at(...items: IndexItem[]): IndexUpdateRef;
    /** Iterates the leading axis, so `const [k1, k2] = random.split(key)` works. */
    [Symbol.iterator](): Iterator<NDArray>;
  }
}
NDArray.prototype.get = function (this: NDArray, ...items: IndexItem[]): NDArray {
  return getItem(this, ...items);
};
NDArray.prototype.at = function (this: NDArray, ...items: IndexItem[]): IndexUpdateRef {
  return at(this, ...items);
};
NDArray.prototype[Symbol.iterator] = function (this: NDArray): Iterator<NDArray> {
  return iterate(this);
};
