// Partial evaluation (Autodidax part 3): runs a function on inputs of which some are known
// (concrete, or tracers of outer transformations) and some unknown. Known computations run at
// once; unknown ones are recorded as a jaxpr. Applied to a jvp with known primals and unknown
// tangents it splits the primal computation from the linear tangent map: that is `linearize`,
// and transposing the linear jaxpr gives `vjp`.

import { ShapedArray } from "../core/aval";
import { PrimalError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { MainTrace, Trace, Tracer, bind, fullRaise, withNewMain } from "../core/trace";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Var } from "../ir/jaxpr";
import { toLiteral } from "../ir/literal";
import { captureLinearSource } from "../ir/source";
import { dropUnusedOutputs } from "./stage";

/** How an unknown value is made: an input, a constant, or an equation. */
type Recipe =
  | { kind: "lambda" }
  | { kind: "const"; value: NDArray }
  | { kind: "eqn"; prim: Primitive; inputs: PartialEvalTracer[]; params: unknown; outs: PartialEvalTracer[]; source: JaxprEqn["sourceRef"] };

/** A value under partial evaluation: known (with its value) or unknown (with its recipe). */
export class PartialEvalTracer extends Tracer {
  constructor(
    readonly _trace: PartialEvalTrace,
    /** The value when known; null when unknown. */
    readonly known: NDArray | null,
    private readonly av: ShapedArray,
    public recipe: Recipe | null,
  ) {
    super();
  }
  override get aval(): ShapedArray {
    return this.av;
  }
  override toConcrete(): NDArray | null {
    if (!this.known) return null;
    return this.known instanceof Tracer ? this.known.toConcrete() : this.known;
  }
  override fullLower(): NDArray {
    return this.known ?? this;
  }
}

export class PartialEvalTrace extends Trace {
  pure(x: NDArray): NDArray {
    return new PartialEvalTracer(this, x, x.aval, null);
  }
  newArg(known: NDArray | null, aval: ShapedArray): PartialEvalTracer {
    return new PartialEvalTracer(this, known, aval, known ? null : { kind: "lambda" });
  }
  /** A known value used by an unknown computation becomes a constant of the jaxpr. */
  instantiate(t: PartialEvalTracer): PartialEvalTracer {
    if (!t.known) return t;
    return new PartialEvalTracer(this, null, t.aval, { kind: "const", value: t.known });
  }
  processPrimitive(prim: Primitive, tracers: NDArray[], params: unknown): NDArray[] {
    const ts = tracers as PartialEvalTracer[];
    if (ts.every((t) => t.known)) return bind(prim, ts.map((t) => t.known!), params);
    // jit-like primitives: evaluate their body under this trace, so the known part runs now.
    if (prim.inlineForPartialEval) return prim.inlineForPartialEval(ts, params);
    const ins = ts.map((t) => this.instantiate(t));
    const outAvals = prim.abstractEval(ins.map((t) => t.aval), params);
    const outs = outAvals.map((a) => new PartialEvalTracer(this, null, a, null));
    const recipe: Recipe = { kind: "eqn", prim, inputs: ins, params, outs, source: captureLinearSource() };
    for (const o of outs) o.recipe = recipe;
    return outs;
  }
}

/** Builds the jaxpr computing the unknown outputs from the unknown inputs (and constants). */
function tracersToJaxpr(ins: PartialEvalTracer[], outs: PartialEvalTracer[]): ClosedJaxpr {
  const vars = new Map<PartialEvalTracer, Var>();
  const varOf = (t: PartialEvalTracer) => {
    let v = vars.get(t);
    if (!v) vars.set(t, (v = new Var(t.aval)));
    return v;
  };
  const constvars: Var[] = [];
  const consts: NDArray[] = [];
  const literals = new Map<PartialEvalTracer, ReturnType<typeof toLiteral>>();
  const eqns: JaxprEqn[] = [];
  const doneEqns = new Set<Recipe>();
  const seen = new Set<PartialEvalTracer>();
  // Depth-first from the outputs, emitting each equation after its inputs (topological order).
  const visit = (t: PartialEvalTracer): void => {
    if (seen.has(t)) return;
    seen.add(t);
    const r = t.recipe;
    if (!r) throw new PrimalError(`partial_eval: an unknown value has no recipe, got ${t.aval.str()}`);
    if (r.kind === "lambda") {
      if (!ins.includes(t)) throw new PrimalError(`partial_eval: a value depends on an input of another transformation (escaped tracer), got ${t.aval.str()}`);
      return;
    }
    if (r.kind === "const") {
      if (r.value.ndim === 0 && !(r.value instanceof Tracer) && r.value._hostReady()) literals.set(t, toLiteral(r.value));
      else (constvars.push(varOf(t)), consts.push(r.value));
      return;
    }
    if (doneEqns.has(r)) return;
    for (const i of r.inputs) visit(i);
    doneEqns.add(r);
    const outVars = r.outs.map(varOf);
    eqns.push(new JaxprEqn(r.prim, r.inputs.map((i) => literals.get(i) ?? varOf(i)), r.params as Record<string, unknown>, outVars, r.source));
  };
  for (const o of outs) visit(o);
  const jaxpr = new Jaxpr(constvars, ins.map(varOf), eqns, outs.map((o) => literals.get(o) ?? varOf(o)));
  return new ClosedJaxpr(dropUnusedOutputs(jaxpr), consts);
}

/** The result of partial evaluation: known outputs (null where unknown) and the unknown part. */
export interface PartialEvalResult {
  knownOuts: (NDArray | null)[];
  outAvals: ShapedArray[];
  /** Takes the unknown inputs (in order), returns the unknown outputs (in order). */
  jaxpr: ClosedJaxpr;
}

/** Partially evaluates `fn` with `known[i]` given (or null for an unknown input of `avals[i]`). */
export function partialEvalFlat(fn: (...xs: NDArray[]) => NDArray[], known: (NDArray | null)[], avals: ShapedArray[]): PartialEvalResult {
  return withNewMain(PartialEvalTrace, null, (main: MainTrace) => {
    const trace = new PartialEvalTrace(main);
    const ins = known.map((k, i) => trace.newArg(k, avals[i]));
    const outs = fn(...ins).map((o) => fullRaise(trace, o) as PartialEvalTracer);
    const unknownIns = ins.filter((t) => !t.known);
    const unknownOuts = outs.filter((t) => !t.known);
    return { knownOuts: outs.map((o) => o.known), outAvals: outs.map((o) => o.aval), jaxpr: tracersToJaxpr(unknownIns, unknownOuts) };
  });
}
