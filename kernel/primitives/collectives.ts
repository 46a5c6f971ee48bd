// Named-axis collectives (jax/_src/lax/parallel.py): psum, pmax, pmin, ppermute, all_gather,
// reduce_scatter (lax.psumScatter) and axis_index. Each names axes bound by an enclosing
// transformation: today a vmap with an axisName, later pmap. A collective never reaches a
// backend kernel: `bind` hands it to the transformation that binds its axis (core/trace.ts,
// via `axisNames`), whose batching rule turns it into ordinary array operations over the mapped
// axis (the "matching" branch of each rule below). A pmap over devices will evaluate these same
// records per shard with a cross-device implementation; the jvp and transpose rules are shared.
//
// Rules follow JAX: psum, ppermute, all_gather and reduce_scatter are linear; psum transposes to
// psum (psum is read as psum + pbroadcast, so cotangents are summed over the axis again),
// ppermute to ppermute with the inverse permutation, all_gather to reduce_scatter and back.
// pmax and pmin have no derivative in JAX; differentiating them raises JAX's error.

import { ShapedArray } from "../core/aval";
import { int32 } from "../core/dtype";
import { NotAvailableError, ShapeError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { BatchRule, JvpRule, Primitive, definePrimitive } from "../core/primitive";
import { bind, bind1, findAxisFrame, unboundAxisName } from "../core/trace";
import * as R from "./reduce";
import * as o from "./ops";

/** Raises JAX's NameError unless every name is bound by an enclosing transformation. */
function checkAxisNames(names: readonly string[]): void {
  for (const n of names) if (!findAxisFrame(n)) throw unboundAxisName(n);
}

/** Groups as JAX prints them: ((0, 1), (2, 3)), or None. */
const groupsText = (g: number[][] | null): string | null => (g === null ? null : `(${g.map((x) => `(${x.join(", ")}${x.length === 1 ? "," : ""})`).join(", ")}${g.length === 1 ? "," : ""})`);

/** A tuple of axis names as JAX prints it: ('i',), ('i', 'j'). */
const namesText = (names: readonly string[]): string => (names.length === 1 ? `('${names[0]}',)` : `(${names.map((n) => `'${n}'`).join(", ")})`);

/** Reached only if a collective is evaluated with no transformation binding its axis. */
function noKernel(op: string): never {
  throw new NotAvailableError(`${op}: a collective has no device kernel; it runs inside vmap (or pmap) with an axisName, got a direct evaluation`);
}

/** The tangent of a linear primitive of several operands: the primitive of the tangents (zeros instantiated). */
function linearMultiJvp<P>(p: Primitive<P>): JvpRule<P> {
  return (primals, tangents, params) => {
    const outs = bind(p, primals, params);
    if (tangents.every((t) => t === null)) return [outs, outs.map(() => null)];
    const ts = bind(p, tangents.map((t, i) => t ?? o.zerosLike(primals[i])), params);
    return [outs, ts.map((t, i) => (outs[i].dtype.isFloat ? t : null))];
  };
}

/** Moves the batch axis `from` of x to `to`, or broadcasts an unbatched x to a batch axis there. */
const toBatched = (x: NDArray, from: number | null, to: number, size: number): NDArray => o.moveBatchAxis(x, from, to, size);

// ---------------------------------------------------------------------------------------------
// psum, pmax, pmin: all-reduce over named axes, any number of operands (one per pytree leaf)

/**
 * JAX's axis_index_groups: the axis' indices split into groups of one size; the collective runs
 * within each group (its position in the group is the index an all_gather orders by). Only
 * pmap evaluates it (pmap-exec.ts); a vmap's batching rule refuses it, as JAX's does.
 */
export type AxisIndexGroups = number[][] | null;

/** The batching rules' refusal of axis_index_groups (JAX: not supported in vmap). */
function refuseGroups(op: string, groups: AxisIndexGroups): void {
  if (groups !== null) throw new NotAvailableError(`${op}: axis_index_groups not supported in vmap collectives (as in JAX; they work under pmap), got ${JSON.stringify(groups)}`);
}

export interface AllReduceParams {
  axes: string[];
  axis_index_groups: AxisIndexGroups;
}

/**
 * JAX's _batched_reduction_collective: under a vmap over one of `axes`, each operand is reduced
 * over its batch axis (an unbatched operand is the same for every element: psum gives size * x,
 * pmax/pmin x), the other named axes are reduced by a collective at their own level, and the
 * result is the same for every element (unbatched). Over other axes the collective maps over the
 * batch axis unchanged.
 */
function allReduceBatch(prim: () => Primitive<AllReduceParams>, reduce: Primitive<{ axes: number[]; out_sharding: null }>, unbatched: (v: NDArray, size: number) => NDArray): BatchRule<AllReduceParams> {
  return (args, dims, p, size, name) => {
    if (!name || !p.axes.includes(name)) return [bind(prim(), args, p), dims];
    refuseGroups(prim().name, p.axis_index_groups);
    let outs = args.map((v, i) => (dims[i] === null ? unbatched(v, size) : bind1(reduce, [v], { axes: [dims[i]!], out_sharding: null })));
    const rest = p.axes.filter((a) => a !== name);
    if (rest.length) outs = bind(prim(), outs, { ...p, axes: rest });
    return [outs, outs.map(() => null)];
  };
}

function defineAllReduce(name: string, reduce: Primitive<{ axes: number[]; out_sharding: null }>, unbatched: (v: NDArray, size: number) => NDArray, linear: boolean): Primitive<AllReduceParams> {
  const prim: Primitive<AllReduceParams> = definePrimitive<AllReduceParams>({
    name,
    abstractEval(avals, p) {
      checkAxisNames(p.axes);
      return avals.map((a) => a);
    },
    cpu: () => noKernel(name),
    axisNames: (p) => p.axes,
    jvp: linear
      ? (primals, tangents, p) => linearMultiJvp(prim)(primals, tangents, p)
      : (primals, tangents, p) => {
          if (tangents.some((t) => t !== null)) throw new NotAvailableError(`Differentiation rule for '${name}' not implemented (JAX has none either: differentiate through lax.stopGradient of the operand, or write the reduction with psum)`);
          const outs = bind(prim, primals, p);
          return [outs, outs.map(() => null)];
        },
    transpose: linear ? (cts, _args, p) => psumTransposed(cts, p) : undefined,
    batch: allReduceBatch(() => prim, reduce, unbatched),
    printParams: (p) => ({ axes: namesText(p.axes), axis_index_groups: groupsText(p.axis_index_groups) }),
  });
  return prim;
}

/** psum's transpose: the cotangents summed over the named axes again (psum = psum + pbroadcast). */
function psumTransposed(cts: (NDArray | null)[], p: AllReduceParams): (NDArray | null)[] {
  const live = cts.filter((c): c is NDArray => c !== null);
  if (!live.length) return cts.map(() => null);
  const summed = bind(psum, live, p);
  let k = 0;
  return cts.map((c) => (c === null ? null : summed[k++]));
}

/** psum: the sum over the named axes, the same for every element. */
export const psum = defineAllReduce("psum", R.reduceSum, (v, size) => o.mul(v, size), true);
/** pmax: the maximum over the named axes. */
export const pmax = defineAllReduce("pmax", R.reduceMax, (v) => v, false);
/** pmin: the minimum over the named axes. */
export const pmin = defineAllReduce("pmin", R.reduceMin, (v) => v, false);

// ---------------------------------------------------------------------------------------------
// ppermute: element src's value goes to element dst; elements no pair sends to get zeros

export interface PpermuteParams {
  axis_name: string[];
  perm: [number, number][];
}

/**
 * Applies the permutation along axis 0 of x (the batch axis, of `size`): output row j is input
 * row src(j), or zeros. Consecutive rows from consecutive sources are one slice, so a ring shift
 * is two slices and a concatenation.
 */
function permuteRows(x: NDArray, perm: readonly (readonly [number, number])[], size: number): NDArray {
  const src = new Array<number>(size).fill(-1);
  for (const [s, d] of perm) src[d] = s;
  const pieces: NDArray[] = [];
  for (let j = 0; j < size; ) {
    let k = j + 1;
    if (src[j] < 0) {
      while (k < size && src[k] < 0) k++;
      pieces.push(o.zerosLike(x.aval.update({ shape: [k - j, ...x.shape.slice(1)], weakType: false })));
    } else {
      while (k < size && src[k] === src[k - 1] + 1) k++;
      pieces.push(o.sliceAxis(x, 0, src[j], src[j] + (k - j)));
    }
    j = k;
  }
  return o.concatenate(pieces, 0);
}

export const ppermute: Primitive<PpermuteParams> = definePrimitive<PpermuteParams>({
  name: "ppermute",
  abstractEval([x], p) {
    checkAxisNames(p.axis_name);
    return [x];
  },
  cpu: () => noKernel("ppermute"),
  axisNames: (p) => p.axis_name,
  jvp: (primals, tangents, p) => o.linearJvp(ppermute, primals, tangents, p),
  transpose: ([ct], _args, p) => [ct === null ? null : bind1(ppermute, [ct], { ...p, perm: p.perm.map(([s, d]) => [d, s] as [number, number]) })],
  batch([x], [d], p, size, name) {
    if (!name || !p.axis_name.includes(name)) return [[bind1(ppermute, [x], p)], [d]];
    // A full permutation of an unbatched value leaves it as it is; otherwise some elements get zeros.
    if (d === null && p.perm.length === size) return [[x], [null]];
    return [[permuteRows(toBatched(x, d, 0, size), p.perm, size)], [0]];
  },
  printParams: (p) => ({ axis_name: namesText(p.axis_name), perm: p.perm }),
});

// ---------------------------------------------------------------------------------------------
// all_gather and reduce_scatter (lax.psumScatter), each other's transpose

export interface AllGatherParams {
  all_gather_dimension: number;
  axis_name: string[];
  axis_index_groups: AxisIndexGroups;
  axis_size: number;
  tiled: boolean;
}

/** Merges axes `axis` and `axis + 1` of x. */
function foldAxis(x: NDArray, axis: number): NDArray {
  const shape = [...x.shape];
  shape.splice(axis, 2, x.shape[axis] * x.shape[axis + 1]);
  return o.reshape(x, shape);
}
/** Splits axis `axis` of x into (factor, rest). */
function splitAxis(x: NDArray, axis: number, factor: number): NDArray {
  const shape = [...x.shape];
  shape.splice(axis, 1, factor, x.shape[axis] / factor);
  return o.reshape(x, shape);
}

export const allGather: Primitive<AllGatherParams> = definePrimitive<AllGatherParams>({
  name: "all_gather",
  abstractEval([x], p) {
    checkAxisNames(p.axis_name);
    const rank = p.tiled ? x.ndim : x.ndim + 1;
    if (!Number.isInteger(p.all_gather_dimension) || p.all_gather_dimension < 0 || p.all_gather_dimension >= rank)
      throw new ShapeError(`all_gather: axis ${p.all_gather_dimension} is out of bounds for ${p.tiled ? "a tiled gather of" : ""} an operand of rank ${x.ndim}, got ${x.str()}`);
    const shape = [...x.shape];
    if (p.tiled) shape[p.all_gather_dimension] *= p.axis_size;
    else shape.splice(p.all_gather_dimension, 0, p.axis_size);
    return [x.update({ shape, weakType: false })];
  },
  cpu: () => noKernel("all_gather"),
  axisNames: (p) => p.axis_name,
  jvp: (primals, tangents, p) => o.linearJvp(allGather, primals, tangents, p),
  transpose: ([ct], _args, p) => [
    ct === null ? null : bind1(reduceScatter, [ct], { axis_index_groups: p.axis_index_groups, axis_name: p.axis_name, axis_size: p.axis_size, scatter_dimension: p.all_gather_dimension, tiled: p.tiled }),
  ],
  batch([x], [d], p, size, name) {
    if (!name || !p.axis_name.includes(name)) {
      // The gather maps over the batch axis; the positional axes shift around it.
      if (d === null) return [[bind1(allGather, [x], p)], [null]];
      let dim = p.all_gather_dimension;
      let od = d;
      if (d <= dim) dim += 1;
      else if (!p.tiled) od += 1;
      return [[bind1(allGather, [x], { ...p, all_gather_dimension: dim })], [od]];
    }
    if (p.axis_name.length > 1) throw new NotAvailableError(`all_gather: gathering over several axes at once under vmap is not supported (nor in JAX), got axis_name ${namesText(p.axis_name)}`);
    refuseGroups("all_gather", p.axis_index_groups);
    // The batch axis becomes the gathered axis; every element sees the same result.
    let y = toBatched(x, d, p.all_gather_dimension, size);
    if (p.tiled) y = foldAxis(y, p.all_gather_dimension);
    return [[y], [null]];
  },
  printParams: (p) => ({ all_gather_dimension: p.all_gather_dimension, axis_index_groups: groupsText(p.axis_index_groups), axis_name: namesText(p.axis_name), axis_size: p.axis_size, tiled: p.tiled }),
});

export interface ReduceScatterParams {
  axis_index_groups: AxisIndexGroups;
  axis_name: string[];
  axis_size: number;
  scatter_dimension: number;
  tiled: boolean;
}

export const reduceScatter: Primitive<ReduceScatterParams> = definePrimitive<ReduceScatterParams>({
  name: "reduce_scatter",
  abstractEval([x], p) {
    checkAxisNames(p.axis_name);
    const sd = p.scatter_dimension;
    if (!Number.isInteger(sd) || sd < 0 || sd >= x.ndim) throw new ShapeError(`reduce_scatter: scatter_dimension ${sd} is out of bounds for an operand of rank ${x.ndim}, got ${x.str()}`);
    const shape = [...x.shape];
    const n = x.shape[sd];
    if (p.tiled) {
      if (n % p.axis_size !== 0) throw new ValueError(`tiled reduce_scatter operand scatter dimension size ${n} must be divisible by shard_count ${p.axis_size}`);
      shape[sd] = n / p.axis_size;
    } else {
      if (n !== p.axis_size) throw new ValueError(`reduce_scatter operand scatter dimension size ${n} must match shard count ${p.axis_size}`);
      shape.splice(sd, 1);
    }
    return [x.update({ shape, weakType: false })];
  },
  cpu: () => noKernel("reduce_scatter"),
  axisNames: (p) => p.axis_name,
  jvp: (primals, tangents, p) => o.linearJvp(reduceScatter, primals, tangents, p),
  transpose: ([ct], _args, p) => [
    ct === null ? null : bind1(allGather, [ct], { all_gather_dimension: p.scatter_dimension, axis_name: p.axis_name, axis_index_groups: p.axis_index_groups, axis_size: p.axis_size, tiled: p.tiled }),
  ],
  batch([x], [d], p, size, name) {
    const sd = p.scatter_dimension;
    if (!name || !p.axis_name.includes(name)) {
      if (d === null) return [[bind1(reduceScatter, [x], p)], [null]];
      // In batched coordinates the scattered axis is after the batch axis when d <= sd; an
      // untiled scatter removes it, so a batch axis after it moves down by one.
      if (d <= sd) return [[bind1(reduceScatter, [x], { ...p, scatter_dimension: sd + 1 })], [d]];
      return [[bind1(reduceScatter, [x], p)], [p.tiled ? d : d - 1]];
    }
    if (p.axis_name.length > 1) throw new NotAvailableError(`reduce_scatter: scattering over several axes at once under vmap is not supported (nor in JAX), got axis_name ${namesText(p.axis_name)}`);
    refuseGroups("reduce_scatter", p.axis_index_groups);
    // psum over the batch axis, then element i keeps block i of the scatter dimension: that
    // dimension (split into (size, block) when tiled) becomes the batch axis.
    const y = d === null ? o.mul(x, size) : o.reduceSum(x, [d]);
    return p.tiled ? [[splitAxis(y, sd, size)], [sd]] : [[y], [sd]];
  },
  printParams: (p) => ({ axis_index_groups: groupsText(p.axis_index_groups), axis_name: namesText(p.axis_name), axis_size: p.axis_size, scatter_dimension: p.scatter_dimension, tiled: p.tiled }),
});

// ---------------------------------------------------------------------------------------------
// axis_index: the element's position along the named axis

export interface AxisIndexParams {
  axis_name: string;
}

export const axisIndex: Primitive<AxisIndexParams> = definePrimitive<AxisIndexParams>({
  name: "axis_index",
  abstractEval(_avals, p) {
    checkAxisNames([p.axis_name]);
    return [new ShapedArray([], int32)];
  },
  cpu: () => noKernel("axis_index"),
  axisNames: (p) => [p.axis_name],
  jvp: (_primals, _tangents, p) => [[bind1(axisIndex, [], p)], [null]],
  batch(_args, _dims, p, size, name) {
    if (name !== p.axis_name) return [[bind1(axisIndex, [], p)], [null]];
    return [[o.iota(int32, [size], 0)], [0]];
  },
});
