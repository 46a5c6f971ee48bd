// lax's named-axis collectives (jax.lax.psum, pmean, pmax, pmin, all_gather, ppermute,
// psum_scatter, axis_index, axis_size) with JAX's signatures in camelCase:
//
//   lax.psum(x, axisName)                 x: an array, a JS number or a pytree of them
//   lax.pmean(x, axisName)                axisName: a string, or an array of strings (and, for
//   lax.pmax(x, axisName)                   psum/pmean/pmax/pmin, integer positional axes)
//   lax.pmin(x, axisName)
//   lax.allGather(x, axisName, { axis, tiled })
//   lax.ppermute(x, axisName, perm)       perm: [[source, destination], ...]
//   lax.psumScatter(x, axisName, { scatterDimension, tiled })
//   lax.axisIndex(axisName)               int32, 0..size-1
//   lax.axisSize(axisName)
//
// The names are bound by an enclosing `vmap(f, { axisName })` (and later pmap); an unbound
// name is JAX's `NameError: unbound axis name: i`. Argument checking happens here; the
// primitives and their rules are in kernel/primitives/collectives.ts.

import { bool, float32, int32 } from "../core/dtype";
import { ArgumentError, AxisError, NotAvailableError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { checkOptions, describeValue } from "../core/shape";
import { Tracer, axisFrameSize, bind, bind1 } from "../core/trace";
import { treeFlatten, treeUnflatten } from "../core/tree";
import * as C from "../primitives/collectives";
import * as o from "../primitives/ops";
import * as R from "../primitives/reduce";
import { asArray } from "./convert";

/** An axis name, or several (psum, pmean, pmax, pmin also take integer positional axes). */
export type AxisName = string | readonly (string | number)[];

function namesOf(op: string, axisName: unknown, positionalOk: boolean): { named: string[]; positional: number[] } {
  const list = typeof axisName === "string" ? [axisName] : Array.isArray(axisName) ? axisName : null;
  if (!list) throw new ArgumentError(`${op}: axisName must be a string or an array of strings, got ${describeValue(axisName)}`);
  const named: string[] = [];
  const positional: number[] = [];
  for (const n of list) {
    if (typeof n === "string" && n.length > 0) named.push(n);
    else if (positionalOk && Number.isInteger(n)) positional.push(n as number);
    else throw new ArgumentError(`${op}: axis names must be non-empty strings${positionalOk ? " (or integer positional axes)" : ""}, got ${describeValue(n)}`);
  }
  if (new Set(named).size !== named.length) throw new ValueError(`${op}: repeated axis name, got [${named.map((n) => `'${n}'`).join(", ")}]`);
  return { named, positional };
}

/**
 * JAX's axis_index_groups, checked: lists of indices along one named axis, every index in exactly
 * one group, all groups of one size. The collective then runs within each group. Only pmap
 * evaluates them; a vmap collective refuses them when its batching rule runs, as JAX's does.
 */
function groupsOf(op: string, groups: unknown, named: readonly string[]): number[][] | null {
  if (groups === undefined || groups === null) return null;
  if (named.length !== 1) throw new NotAvailableError(`${op}: axisIndexGroups need exactly one named axis, got [${named.map((n) => `'${n}'`).join(", ")}]`);
  const size = axisFrameSize(named[0]);
  if (!Array.isArray(groups) || groups.length === 0 || !groups.every((g) => Array.isArray(g) && g.length > 0 && g.every((i) => Number.isInteger(i))))
    throw new ArgumentError(`${op}: axisIndexGroups must be a non-empty list of non-empty lists of axis indices, got ${describeValue(groups)}`);
  const gs = groups as number[][];
  const seen = gs.flat();
  if (seen.some((i) => i < 0 || i >= size) || new Set(seen).size !== seen.length || seen.length !== size)
    throw new ValueError(`${op}: axisIndexGroups must cover every index of axis '${named[0]}' (size ${size}) exactly once, got ${JSON.stringify(gs)}`);
  if (gs.some((g) => g.length !== gs[0].length)) throw new ValueError(`${op}: axisIndexGroups must all be the same size, got ${JSON.stringify(gs)}`);
  return gs.map((g) => [...g]);
}

function leafArray(op: string, leaf: unknown): NDArray {
  if (leaf instanceof NDArray) return leaf;
  if (typeof leaf === "number" || typeof leaf === "boolean") return asArray(leaf, null, op);
  throw new ArgumentError(`${op}: expected arrays or numbers as leaves, got ${describeValue(leaf)}`);
}

/** Maps `f` over the leaves of a pytree of arrays and numbers (the collectives' pytree rule). */
function mapLeaves(op: string, x: unknown, f: (leaves: NDArray[]) => NDArray[]): any {
  const [leaves, tree] = treeFlatten(x);
  return treeUnflatten(tree, f(leaves.map((l) => leafArray(op, l))));
}

function canonicalAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new AxisError(`${op}: axis ${describeValue(axis)} is out of bounds for array of dimension ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

const product = (names: readonly string[]): number => names.reduce((s, n) => s * axisFrameSize(n), 1);

/** Reduces the positional axes of each leaf first (psum's integer axes), with `reduce`. */
function positionalReduce(op: string, xs: NDArray[], axes: number[], reduce: typeof R.reduceSum): NDArray[] {
  if (!axes.length) return xs;
  return xs.map((x) => {
    const ax = [...new Set(axes.map((a) => canonicalAxis(op, a, x.ndim)))];
    return bind1(reduce, [x], { axes: ax, out_sharding: null });
  });
}

interface GroupOpts {
  /** JAX's axis_index_groups (under pmap): the collective runs within each group of axis indices. */
  axisIndexGroups?: number[][] | null;
}

/**
 * lax.psum: the sum of x over the mapped axes named `axisName`, the same for every element.
 * Booleans are summed as int32. An operand that does not vary along the axis (a constant, or a
 * value not batched by that vmap) gives axis_size * x, as in JAX.
 */
export function psum(x: NDArray | number, axisName: AxisName, opts?: GroupOpts): NDArray;
export function psum<T>(x: T, axisName: AxisName, opts?: GroupOpts): T;
export function psum(x: unknown, axisName: AxisName, opts: GroupOpts = {}): any {
  const given = checkOptions<GroupOpts>("psum", opts, { axisIndexGroups: "any" }).axisIndexGroups;
  const { named, positional } = namesOf("psum", axisName, true);
  const groups = groupsOf("psum", given, named);
  return mapLeaves("psum", x, (leaves) => {
    const xs = positionalReduce("psum", leaves.map((l) => (l.dtype === bool ? o.convert(l, int32) : l)), positional, R.reduceSum);
    if (!named.length) return xs;
    // JAX's constant case: nothing traced, so nothing varies along the axes.
    if (xs.every((l) => !(l instanceof Tracer))) {
      const n = groups ? groups[0].length : product(named);
      return xs.map((l) => o.mul(l, n));
    }
    return bind(C.psum, xs, { axes: named, axis_index_groups: groups });
  });
}

/** lax.pmean: psum(x) divided by the axes' total size (integers give float32, as JAX's true divide). */
export function pmean(x: NDArray | number, axisName: AxisName, opts?: GroupOpts): NDArray;
export function pmean<T>(x: T, axisName: AxisName, opts?: GroupOpts): T;
export function pmean(x: unknown, axisName: AxisName, opts: GroupOpts = {}): any {
  const given = checkOptions<GroupOpts>("pmean", opts, { axisIndexGroups: "any" }).axisIndexGroups;
  const { named, positional } = namesOf("pmean", axisName, true);
  const groups = groupsOf("pmean", given, named);
  return mapLeaves("pmean", x, (leaves) => {
    // One psum of every leaf, as JAX's pmean (one collective for a whole pytree of gradients).
    const sums = psum(leaves, axisName, { axisIndexGroups: groups }) as NDArray[];
    return sums.map((s, i) => {
      const l = leaves[i];
      const n = (groups ? groups[0].length : product(named)) * positional.reduce((m, a) => m * l.shape[canonicalAxis("pmean", a, l.ndim)], 1);
      const f = s.dtype.isFloat ? s : o.convert(s, float32);
      return o.div(f, n);
    });
  });
}

function extremum(op: "pmax" | "pmin", prim: typeof C.pmax, reduce: typeof R.reduceMax) {
  return (x: unknown, axisName: AxisName, opts: GroupOpts = {}): any => {
    const given = checkOptions<GroupOpts>(op, opts, { axisIndexGroups: "any" }).axisIndexGroups;
    const { named, positional } = namesOf(op, axisName, true);
    const groups = groupsOf(op, given, named);
    return mapLeaves(op, x, (leaves) => {
      const xs = positionalReduce(op, leaves, positional, reduce);
      return named.length ? bind(prim, xs, { axes: named, axis_index_groups: groups }) : xs;
    });
  };
}
const pmaxImpl = extremum("pmax", C.pmax, R.reduceMax);
const pminImpl = extremum("pmin", C.pmin, R.reduceMin);

/** lax.pmax: the maximum of x over the named axes. Not differentiable (as in JAX). */
export function pmax(x: NDArray | number, axisName: AxisName, opts?: GroupOpts): NDArray;
export function pmax<T>(x: T, axisName: AxisName, opts?: GroupOpts): T;
export function pmax(x: unknown, axisName: AxisName, opts: GroupOpts = {}): any {
  return pmaxImpl(x, axisName, opts);
}
/** lax.pmin: the minimum of x over the named axes. Not differentiable (as in JAX). */
export function pmin(x: NDArray | number, axisName: AxisName, opts?: GroupOpts): NDArray;
export function pmin<T>(x: T, axisName: AxisName, opts?: GroupOpts): T;
export function pmin(x: unknown, axisName: AxisName, opts: GroupOpts = {}): any {
  return pminImpl(x, axisName, opts);
}

interface AllGatherOpts extends GroupOpts {
  axis?: number;
  tiled?: boolean;
}

/**
 * lax.all_gather: every element's x, stacked along a new axis `axis` (default 0), or
 * concatenated along the existing axis `axis` when `tiled`. The same for every element.
 */
export function allGather(x: NDArray | number, axisName: AxisName, opts?: AllGatherOpts): NDArray;
export function allGather<T>(x: T, axisName: AxisName, opts?: AllGatherOpts): T;
export function allGather(x: unknown, axisName: AxisName, opts: AllGatherOpts = {}): any {
  const { axis = 0, tiled = false, axisIndexGroups } = checkOptions<AllGatherOpts>("all_gather", opts, { axis: "integer", tiled: "boolean", axisIndexGroups: "any" });
  const { named } = namesOf("all_gather", axisName, false);
  const groups = groupsOf("all_gather", axisIndexGroups, named);
  const size = groups ? groups[0].length : product(named);
  return mapLeaves("all_gather", x, (leaves) =>
    leaves.map((l) => {
      if (tiled && l.ndim === 0) throw new ValueError(`all_gather: tiled gathering needs an operand of rank >= 1 to concatenate along, got ${l.aval.str()}`);
      const dim = canonicalAxis("all_gather", axis ?? 0, tiled ? l.ndim : l.ndim + 1);
      const params: C.AllGatherParams = { all_gather_dimension: dim, axis_name: named, axis_index_groups: groups, axis_size: size, tiled: tiled ?? false };
      // The shape rule checks here too: a vmap's batching rule does not call it.
      C.allGather.abstractEval([l.aval], params);
      return bind1(C.allGather, [l], params);
    }),
  );
}

/**
 * lax.ppermute: sends element `source`'s x to element `destination` for each pair of `perm`;
 * an element that no pair sends to gets zeros. Sources and destinations must be unique.
 */
export function ppermute(x: NDArray | number, axisName: string | readonly string[], perm: readonly (readonly [number, number])[]): NDArray;
export function ppermute<T>(x: T, axisName: string | readonly string[], perm: readonly (readonly [number, number])[]): T;
export function ppermute(x: unknown, axisName: string | readonly string[], perm: readonly (readonly [number, number])[]): any {
  const { named } = namesOf("ppermute", axisName, false);
  if (named.length !== 1) throw new NotAvailableError(`ppermute: permuting over several axes at once is not supported yet, got [${named.map((n) => `'${n}'`).join(", ")}]`);
  const size = axisFrameSize(named[0]);
  if (!Array.isArray(perm)) throw new ArgumentError(`ppermute: perm must be an array of [source, destination] pairs, got ${describeValue(perm)}`);
  const pairs = perm.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((i) => Number.isInteger(i)))
      throw new ArgumentError(`ppermute: perm must be an array of [source, destination] integer pairs, got ${describeValue(pair)}`);
    for (const i of pair) if (i < 0 || i >= size) throw new ValueError(`ppermute: perm indices must be in [0, ${size}) for axis '${named[0]}' of size ${size}, got ${describeValue(pair)}`);
    return [pair[0], pair[1]] as [number, number];
  });
  const srcs = new Set(pairs.map((p) => p[0]));
  const dsts = new Set(pairs.map((p) => p[1]));
  if (srcs.size !== pairs.length || dsts.size !== pairs.length)
    throw new ValueError(`ppermute sources and destinations must be unique, got (${pairs.map(([s, d]) => `(${s}, ${d})`).join(", ")}${pairs.length === 1 ? "," : ""}).`);
  return mapLeaves("ppermute", x, (leaves) => leaves.map((l) => bind1(C.ppermute, [l], { axis_name: named, perm: pairs })));
}

interface PsumScatterOpts extends GroupOpts {
  scatterDimension?: number;
  tiled?: boolean;
}

/**
 * lax.psum_scatter: psum(x), of which element i keeps slice i along `scatterDimension` (that
 * axis must have the axis' size and is removed), or block i of size n/size when `tiled`.
 */
export function psumScatter(x: NDArray | number, axisName: AxisName, opts?: PsumScatterOpts): NDArray;
export function psumScatter<T>(x: T, axisName: AxisName, opts?: PsumScatterOpts): T;
export function psumScatter(x: unknown, axisName: AxisName, opts: PsumScatterOpts = {}): any {
  const { scatterDimension = 0, tiled = false, axisIndexGroups } = checkOptions<PsumScatterOpts>("psum_scatter", opts, { scatterDimension: "integer", tiled: "boolean", axisIndexGroups: "any" });
  const { named } = namesOf("psum_scatter", axisName, false);
  const groups = groupsOf("psum_scatter", axisIndexGroups, named);
  const size = groups ? groups[0].length : product(named);
  return mapLeaves("psum_scatter", x, (leaves) =>
    leaves.map((l) => {
      if (l.ndim === 0) throw new ValueError(`psum_scatter: the operand needs an axis to scatter along, got ${l.aval.str()}`);
      const sd = canonicalAxis("psum_scatter", scatterDimension ?? 0, l.ndim);
      const params: C.ReduceScatterParams = { axis_index_groups: groups, axis_name: named, axis_size: size, scatter_dimension: sd, tiled: tiled ?? false };
      C.reduceScatter.abstractEval([l.aval], params);
      return bind1(C.reduceScatter, [l], params);
    }),
  );
}

/**
 * lax.axis_index: this element's index along the named axis (int32). Several names give the
 * index in their product, the last name varying fastest (JAX's mixed radix).
 */
export function axisIndex(axisName: string | readonly string[]): NDArray {
  const { named } = namesOf("axis_index", axisName, false);
  if (named.length === 1) return bind1(C.axisIndex, [], { axis_name: named[0] });
  let index: NDArray | null = null;
  let inner = 1;
  for (const name of [...named].reverse()) {
    const term = o.mul(bind1(C.axisIndex, [], { axis_name: name }), inner);
    index = index ? o.add(index, term) : term;
    inner *= axisFrameSize(name);
  }
  return index ?? asArray(0, int32, "axis_index");
}

/** lax.axis_size: the size of the named axis (the product for several), a JS number. */
export function axisSize(axisName: string | readonly string[]): number {
  return product(namesOf("axis_size", axisName, false).named);
}
