// Forward-mode differentiation (JAX's jvp): JVPTracers carry a primal and a tangent; each
// primitive's `jvp` rule maps primals and tangents to outputs and output tangents. A null
// tangent is a symbolic zero, so untouched inputs cost nothing.

import { ShapedArray } from "../core/aval";
import { PrimalError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { MainTrace, Trace, Tracer, bind, fullRaise, withNewMain } from "../core/trace";
import { withSharedSource } from "../ir/source";
import { zerosLike } from "../primitives/ops";

/** A value under jvp: its primal and tangent (null = zero). */
export class JVPTracer extends Tracer {
  constructor(
    readonly _trace: JVPTrace,
    readonly primal: NDArray,
    readonly tangent: NDArray | null,
  ) {
    super();
  }
  override get aval(): ShapedArray {
    return this.primal.aval;
  }
  // Under jvp/grad (not jit) the primal is concrete, so JS control flow on it works, as in JAX.
  override toConcrete(): NDArray | null {
    return this.primal instanceof Tracer ? this.primal.toConcrete() : this.primal;
  }
  override toString(): string {
    const c = this.toConcrete();
    return c ? c.toString() : `Traced<${this.aval.toString()}>with<JVPTrace>`;
  }
}

/** Error for a primitive without a differentiation rule. */
export class MissingRuleError extends PrimalError {}

export class JVPTrace extends Trace {
  pure(x: NDArray): NDArray {
    return new JVPTracer(this, x, null);
  }
  processPrimitive(prim: Primitive, tracers: NDArray[], params: unknown): NDArray[] {
    const ts = tracers as JVPTracer[];
    const primals = ts.map((t) => t.primal);
    const tangents = ts.map((t) => t.tangent);
    // Nothing to differentiate: run the primitive on the primals alone.
    if (tangents.every((t) => t === null)) return bind(prim, primals, params).map((p) => new JVPTracer(this, p, null));
    if (!prim.jvp) throw new MissingRuleError(`jvp: differentiation rule for '${prim.name}' not implemented`);
    // The equations a rule stages are all for the caller's line: one source capture serves them.
    const [outs, outTangents] = withSharedSource(() => prim.jvp!(primals, tangents, params));
    return outs.map((p, i) => new JVPTracer(this, p, outTangents[i] ?? null));
  }
}

/**
 * jvp of a function on flat lists: returns the outputs and their tangents (zeros instantiated,
 * so callers always get arrays).
 */
export function jvpFlat(fn: (...xs: NDArray[]) => NDArray[], primals: NDArray[], tangents: NDArray[]): [NDArray[], NDArray[]] {
  return withNewMain(JVPTrace, null, (main: MainTrace) => {
    const trace = new JVPTrace(main);
    const ins = primals.map((p, i) => new JVPTracer(trace, p, tangents[i]));
    const outs = fn(...ins).map((o) => fullRaise(trace, o) as JVPTracer);
    return [outs.map((o) => o.primal), outs.map((o) => o.tangent ?? zerosLike(o.primal))];
  });
}
