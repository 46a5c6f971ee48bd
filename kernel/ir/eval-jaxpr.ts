// Evaluates a jaxpr by binding each equation's primitive in turn: under no transformation this
// runs the primitives eagerly; under a transformation it re-traces the program through it
// (that is how jvp, vmap and staging apply to a jitted function's body).

import { NDArray } from "../core/ndarray";
import { PrimalError } from "../core/errors";
import { bind } from "../core/trace";
import { fromLiteral } from "./literal";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, Literal, Var } from "./jaxpr";

/** Runs `jaxpr` on constant values and arguments; returns the outputs. */
export function evalJaxpr(jaxpr: Jaxpr, consts: NDArray[], args: NDArray[]): NDArray[] {
  if (consts.length !== jaxpr.constvars.length || args.length !== jaxpr.invars.length)
    throw new PrimalError(`eval_jaxpr: expected ${jaxpr.constvars.length} consts and ${jaxpr.invars.length} args, got ${consts.length} and ${args.length}`);
  const env = new Map<Var, NDArray>();
  jaxpr.constvars.forEach((v, i) => env.set(v, consts[i]));
  jaxpr.invars.forEach((v, i) => env.set(v, args[i]));
  const read = (a: Atom): NDArray => {
    if (a instanceof Literal) return fromLiteral(a);
    const x = env.get(a);
    if (x === undefined) throw new PrimalError(`eval_jaxpr: variable used before it is defined, got ${a.aval.str()}`);
    return x;
  };
  for (const e of jaxpr.eqns) {
    const outs = bind(e.primitive, e.inputs.map(read), e.params);
    e.outVars.forEach((v, i) => {
      if (!(v instanceof DropVar)) env.set(v, outs[i]);
    });
  }
  return jaxpr.outvars.map(read);
}

/** evalJaxpr for a closed jaxpr. */
export function evalClosedJaxpr(cj: ClosedJaxpr, args: NDArray[]): NDArray[] {
  return evalJaxpr(cj.jaxpr, cj.consts, args);
}
