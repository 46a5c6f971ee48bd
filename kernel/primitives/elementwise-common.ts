// What every elementwise primitive shares: the dtype and broadcasting shape rules, the
// definition helper (scalar JS expression -> generated CPU kernel), and the batching rule
// (batch axes moved to the front, other operands given a leading size-1 axis, one call).

import { ShapedArray } from "../core/aval";
import { DType } from "../core/dtype";
import { DTypeError, ShapeError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { ElementwiseRule, JvpRule, Primitive, TransposeRule, definePrimitive } from "../core/primitive";
import { bind } from "../core/trace";
import { elementwiseCpu } from "./cpu-loops";
import { broadcastInDim, moveAxis, reshape } from "./ops";

/** Which dtypes an operation accepts, with the words JAX uses in its error. */
export type Accepts = "float" | "number" | "int" | "intOrBool" | "any";
const ACCEPT_TEXT: Record<Accepts, string> = {
  float: "floating",
  number: "integer, floating",
  int: "integer",
  intOrBool: "integer, bool",
  any: "bool, integer, floating",
};
function accepts(a: Accepts, d: DType): boolean {
  switch (a) {
    case "float": return d.isFloat;
    case "number": return !d.isBool;
    case "int": return d.isInt;
    case "intOrBool": return d.isInt || d.isBool;
    case "any": return true;
  }
}
export function checkDType(name: string, a: Accepts, d: DType): void {
  if (!accepts(a, d)) throw new DTypeError(`${name} does not accept dtype ${d.name}. Accepted dtypes are subtypes of ${ACCEPT_TEXT[a]}`);
}

/** lax's broadcasting shape rule: scalars are exempt, other ranks must match, 1s stretch. */
export function naryShape(name: string, avals: ShapedArray[]): number[] {
  const shapes = avals.map((a) => a.shape).filter((s) => s.length > 0);
  if (shapes.length === 0) return [];
  const rank = shapes[0].length;
  if (shapes.some((s) => s.length !== rank))
    throw new ShapeError(`${name}: arrays must have same number of dimensions, got ${shapes.map(fmtShape).join(", ")}`);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const ds = shapes.map((s) => s[i]);
    const non1 = ds.filter((d) => d !== 1);
    if (non1.length === 0) out.push(1);
    else if (non1.every((d) => d === non1[0])) out.push(non1[0]);
    else throw new ShapeError(`${name}: incompatible shapes for broadcasting, got ${shapes.map(fmtShape).join(", ")}`);
  }
  return out;
}

export type JsRule<P> = (args: string[], inDtypes: DType[], outDtype: DType, params: P) => string;

/** Transformation rules of an elementwise primitive (batching is shared and added here). */
export interface ElementwiseRules<P> {
  jvp: JvpRule<P>;
  transpose?: TransposeRule<P>;
  /** Operands are broadcast to the full batched shape (for select_n/clamp, which need equal shapes). */
  fullBroadcast?: boolean;
}

/** Declares an elementwise primitive from its scalar rule, shape rule and transformation rules. */
export function defineElementwise<P>(name: string, rule: JsRule<P>, abstractEval: (avals: ShapedArray[], params: P) => ShapedArray[], rules: ElementwiseRules<P>): Primitive<P> {
  const elementwise: ElementwiseRule<P> = { js: rule };
  const p: Primitive<P> = definePrimitive<P>({
    name,
    abstractEval,
    elementwise,
    cpu: elementwiseCpu(name, elementwise),
    jvp: rules.jvp,
    transpose: rules.transpose,
    batch: (args, dims, params, size) => elementwiseBatch(p, args, dims, params, size, rules.fullBroadcast ?? false),
  });
  return p;
}

/**
 * vmap of an elementwise primitive: batch axes go to the front; per-example operands all have
 * the same rank r or are scalars, so batched ones become [B, ...] (a batched per-example scalar
 * becomes [B, 1, ..., 1]) and unbatched non-scalars get a leading 1.
 */
export function elementwiseBatch<P>(p: Primitive<P>, args: NDArray[], dims: (number | null)[], params: P, size: number, full: boolean): [NDArray[], (number | null)[]] {
  const exampleRank = Math.max(...args.map((a, i) => a.ndim - (dims[i] === null ? 0 : 1)));
  const exampleShape: number[] = new Array(exampleRank).fill(1);
  args.forEach((a, i) => {
    const s = dims[i] === null ? a.shape : a.shape.filter((_, k) => k !== dims[i]);
    if (s.length === exampleRank) s.forEach((d, k) => d !== 1 && (exampleShape[k] = d));
  });
  const xs = args.map((a, i) => {
    const d = dims[i];
    let x: NDArray;
    if (d === null) {
      if (a.ndim === 0 && !full) return a;
      x = a.ndim === 0 ? a : reshape(a, [1, ...a.shape]);
    } else {
      x = moveAxis(a, d, 0);
      if (x.ndim - 1 < exampleRank) x = reshape(x, [size, ...new Array(exampleRank - (x.ndim - 1)).fill(1), ...x.shape.slice(1)]);
    }
    if (!full) return x;
    const target = [size, ...exampleShape];
    if (x.ndim === 0) return broadcastInDim(x, target, []);
    const squeezed = x.shape.map((n, k) => (n === 1 && target[k] !== 1 ? -1 : k)).filter((k) => k >= 0);
    return broadcastInDim(reshape(x, squeezed.map((k) => x.shape[k])), target, squeezed);
  });
  const outs = bind(p, xs, params);
  return [outs, outs.map(() => 0)];
}
