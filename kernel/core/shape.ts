// Shape arithmetic shared by every layer: sizes, strides, broadcasting, axis normalisation.

import { AxisError, ShapeError, ValueError, fmtShape } from "./errors";

export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function shapeEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Checks that a shape is a list of non-negative integers. */
export function checkShape(op: string, shape: unknown): number[] {
  const s = typeof shape === "number" ? [shape] : shape;
  if (!Array.isArray(s)) throw new ShapeError(`${op}: a shape must be an array of non-negative integers, got ${String(shape)}`);
  for (const d of s) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0)
      throw new ShapeError(`${op}: a shape must be an array of non-negative integers, got [${s.join(", ")}]`);
  }
  return [...s];
}

/** NumPy broadcasting of any number of shapes; `op` names the caller in the error. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i];
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else throw new ShapeError(`${op}: shapes ${shapes.map(fmtShape).join(" and ")} cannot be broadcast together`);
    }
  }
  return out;
}

/** Normalises a possibly negative axis for an array of rank `ndim`. */
export function normalizeAxis(op: string, axis: number, ndim: number): number {
  if (typeof axis !== "number" || !Number.isInteger(axis))
    throw new AxisError(`${op}: axis must be an integer, got ${String(axis)}`);
  if (axis < -ndim || axis >= ndim)
    throw new AxisError(`${op}: axis ${axis} is out of bounds for array of dimension ${ndim}`);
  return axis < 0 ? axis + ndim : axis;
}

/** Normalises an `axis` option (undefined/null = all axes, number or list), sorted and unique. */
export function normalizeAxes(op: string, axis: number | readonly number[] | null | undefined, ndim: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === "number" ? [axis] : [...axis];
  const out = list.map((a) => normalizeAxis(op, a, ndim));
  if (new Set(out).size !== out.length) throw new ValueError(`${op}: repeated axis, got [${list.join(", ")}]`);
  return out.sort((a, b) => a - b);
}

/** Checks that `perm` is a permutation of 0..n-1. */
export function checkPermutation(op: string, perm: readonly number[], n: number): number[] {
  const p = perm.map((a) => normalizeAxis(op, a, n));
  if (p.length !== n || new Set(p).size !== n)
    throw new ValueError(`${op}: axes must be a permutation of 0..${n - 1}, got [${perm.join(", ")}]`);
  return p;
}
