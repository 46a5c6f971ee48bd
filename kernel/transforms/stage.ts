// Staging: tracing a function into a jaxpr (JAX's make_jaxpr and the first step of jit).
// JaxprTrace's tracers carry only avals; each primitive applied to them appends an equation.
// Concrete arrays that the function closes over become constvars, or literals when they are
// scalars, as JAX inlines them.

import { ShapedArray } from "../core/aval";
import { PrimalError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { MainTrace, Trace, Tracer, fullRaise, withDynamicTrace, withNewMain } from "../core/trace";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "../ir/jaxpr";
import { toLiteral } from "../ir/literal";
import { captureSource } from "../ir/source";
import { flatFun, flattenToArrays } from "./args";
import { Tap, collectTaps } from "./taps";

/** A value inside a function being staged: only its aval is known. */
export class JaxprTracer extends Tracer {
  constructor(
    readonly _trace: JaxprTrace,
    private readonly av: ShapedArray,
  ) {
    super();
  }
  override get aval(): ShapedArray {
    return this.av;
  }
  override toString(): string {
    return `Traced<${this.av.toString()}>with<JaxprTrace>`;
  }
  override repr(): string {
    return this.toString();
  }
}

/** Collects the equations of one staged function. */
export class JaxprBuilder {
  readonly eqns: JaxprEqn[] = [];
  private readonly vars = new Map<JaxprTracer, Var>();
  /** The reverse of `vars` (finding the tracer of a var is then not a scan of all of them). */
  private readonly tracers = new Map<Var, JaxprTracer>();
  private readonly constTracers = new Map<NDArray, JaxprTracer>();
  readonly constVals = new Map<JaxprTracer, NDArray>();

  varOf(t: JaxprTracer): Var {
    let v = this.vars.get(t);
    if (!v) {
      v = new Var(t.aval);
      this.vars.set(t, v);
      this.tracers.set(v, t);
    }
    return v;
  }
  /** The tracer standing for a concrete array captured by the function (one per array). */
  constTracer(trace: JaxprTrace, x: NDArray): JaxprTracer {
    let t = this.constTracers.get(x);
    if (!t) {
      t = new JaxprTracer(trace, x.aval);
      this.constTracers.set(x, t);
      this.constVals.set(t, x);
    }
    return t;
  }

  /** Builds the closed jaxpr from input and output tracers; scalar constants become literals. */
  build(ins: JaxprTracer[], outs: JaxprTracer[], dropUnused = true): ClosedJaxpr {
    const literals = new Map<JaxprTracer, Literal>();
    const constvars: Var[] = [];
    const consts: NDArray[] = [];
    for (const [t, x] of this.constVals) {
      // Scalar constants are written inline (when their value is on the host: reading one still
      // being computed on a GPU would wait for it); tracers of outer transformations stay constvars.
      if (x.ndim === 0 && !(x instanceof Tracer) && x._hostReady()) literals.set(t, toLiteral(x));
      else {
        constvars.push(this.varOf(t));
        consts.push(x);
      }
    }
    const atom = (t: JaxprTracer): Atom => literals.get(t) ?? this.varOf(t);
    const eqns = this.eqns.map((e) => new JaxprEqn(e.primitive, e.inputs.map((a) => (a instanceof Var ? substitute(a, literals, this) : a)), e.params, e.outVars, e.sourceRef));
    const jaxpr = new Jaxpr(constvars, ins.map((t) => this.varOf(t)), eqns, outs.map(atom));
    return new ClosedJaxpr(dropUnused ? dropUnusedOutputs(jaxpr) : jaxpr, consts);
  }

  /** Finds the tracer a var was made for (to substitute literals). */
  tracerOf(v: Var): JaxprTracer | undefined {
    return this.tracers.get(v);
  }
}

function substitute(v: Var, literals: Map<JaxprTracer, Literal>, b: JaxprBuilder): Atom {
  if (literals.size === 0) return v;
  const t = b.tracerOf(v);
  return (t && literals.get(t)) ?? v;
}

/** Outputs of equations that nothing reads are printed `_`, as JAX's DropVar. */
export function dropUnusedOutputs(j: Jaxpr): Jaxpr {
  const used = new Set<Var>();
  for (const e of j.eqns) for (const a of e.inputs) if (a instanceof Var) used.add(a);
  for (const a of j.outvars) if (a instanceof Var) used.add(a);
  const eqns = j.eqns.map((e) =>
    e.outVars.some((v) => !used.has(v))
      ? new JaxprEqn(e.primitive, e.inputs, e.params, e.outVars.map((v) => (used.has(v) ? v : new DropVar(v.aval))), e.sourceRef)
      : e,
  );
  return new Jaxpr(j.constvars, j.invars, eqns, j.outvars);
}

/** The staging interpreter. */
export class JaxprTrace extends Trace {
  get builder(): JaxprBuilder {
    return this.main.globalData as JaxprBuilder;
  }
  pure(x: NDArray): NDArray {
    return this.builder.constTracer(this, x);
  }
  newArg(aval: ShapedArray): JaxprTracer {
    return new JaxprTracer(this, aval);
  }
  processPrimitive(prim: Primitive, tracers: NDArray[], params: unknown): NDArray[] {
    const b = this.builder;
    const avals = tracers.map((t) => t.aval);
    const outAvals = prim.abstractEval(avals, params);
    const outs = outAvals.map((a) => new JaxprTracer(this, a));
    const inputs = tracers.map((t) => b.varOf(t as JaxprTracer));
    b.eqns.push(new JaxprEqn(prim, inputs, params as Record<string, unknown>, outs.map((o) => b.varOf(o)), captureSource()));
    return outs;
  }
}

/**
 * Stages `fn` on abstract inputs of the given avals into a closed jaxpr. `fn` takes and returns
 * flat lists of arrays; outputs that are concrete (not traced) become constants or literals.
 */
export function traceToJaxpr(fn: (...args: NDArray[]) => NDArray[], inAvals: ShapedArray[], opts: { dropUnused?: boolean; taps?: Tap[] } = {}): ClosedJaxpr {
  const builder = new JaxprBuilder();
  return withNewMain(JaxprTrace, builder, (main: MainTrace) =>
    withDynamicTrace(main, () => {
      const trace = new JaxprTrace(main);
      const ins = inAvals.map((a) => trace.newArg(a));
      let outs: NDArray[];
      if (opts.taps) {
        // Tapped values become extra outputs after the function's own (taps.ts).
        const r = collectTaps(main, () => fn(...ins));
        outs = r.result;
        if (Array.isArray(outs) && r.taps.length) {
          outs = [...outs, ...r.taps.flatMap((t) => t.values)];
          opts.taps.push(...r.taps);
        }
      } else outs = fn(...ins);
      if (!Array.isArray(outs)) throw new PrimalError(`make_jaxpr: the traced function must return arrays, got ${typeof outs}`);
      const outTracers = outs.map((o) => {
        if (!(o instanceof NDArray)) throw new PrimalError(`make_jaxpr: outputs must be arrays, got ${typeof o}`);
        return fullRaise(trace, o) as JaxprTracer;
      });
      // make_jaxpr marks unused results `_` (as JAX 0.11 prints them); jit bodies keep their names.
      return builder.build(ins, outTracers, opts.dropUnused ?? true);
    }),
  );
}

/** jax.make_jaxpr: `makeJaxpr(f)(...args)` stages f on the arguments' avals and returns the closed jaxpr. */
export function makeJaxpr(f: (...args: any[]) => unknown): (...args: unknown[]) => ClosedJaxpr {
  return (...args: unknown[]) => {
    const [leaves, inTree] = flattenToArrays(args, "make_jaxpr");
    const { fn } = flatFun(f, inTree, "make_jaxpr");
    return traceToJaxpr(fn, leaves.map((l) => l.aval));
  };
}
