// Jaxprs: Primal's IR, with JAX's vocabulary. A Jaxpr has constant variables, input variables,
// equations (a primitive applied to atoms, binding output variables, with its parameters and
// the user's source line) and output atoms. An atom is a Var or a Literal (a scalar constant
// written inline, `3.0:f32[]`). A ClosedJaxpr pairs a jaxpr with the values of its constvars.

import { ShapedArray } from "../core/aval";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";

/** A variable: a value known only by its aval. Identity is the object itself. */
export class Var {
  constructor(readonly aval: ShapedArray) {}
}

/** An output that nothing uses, printed `_` (JAX's DropVar). */
export class DropVar extends Var {}

/** A scalar constant written inline in the jaxpr. */
export class Literal {
  constructor(
    readonly value: number | boolean,
    readonly aval: ShapedArray,
  ) {}
}

export type Atom = Var | Literal;

/** Where the user's code created an equation (for the IR panel and error messages). */
export interface SourceInfo {
  file: string;
  line: number;
  column: number;
}

/** One primitive application. Params hold plain values, dtypes and nested (closed) jaxprs. */
export class JaxprEqn {
  private src: SourceInfo | null | (() => SourceInfo | null);
  constructor(
    readonly primitive: Primitive,
    readonly inputs: Atom[],
    readonly params: Record<string, unknown>,
    readonly outVars: Var[],
    /** The user's location, or a function that finds it when first asked (tracing records one per equation). */
    source: SourceInfo | null | (() => SourceInfo | null) = null,
  ) {
    this.src = source;
  }
  /** Where the user's code created this equation. */
  get source(): SourceInfo | null {
    if (typeof this.src === "function") this.src = this.src();
    return this.src;
  }
  /** The source as stored (possibly not yet resolved), for copying an equation. */
  get sourceRef(): SourceInfo | null | (() => SourceInfo | null) {
    return this.src;
  }
}

/** A typed, first-order program: `{ lambda constvars ; invars. let eqns in (outvars,) }`. */
export class Jaxpr {
  constructor(
    readonly constvars: Var[],
    readonly invars: Var[],
    readonly eqns: JaxprEqn[],
    readonly outvars: Atom[],
  ) {}
  get inAvals(): ShapedArray[] {
    return this.invars.map((v) => v.aval);
  }
  get outAvals(): ShapedArray[] {
    return this.outvars.map((v) => v.aval);
  }
  /** JAX's text format (kernel/ir/printer.ts installs it). */
  toString(): string {
    return printJaxprHook(this);
  }
  /** What a cell's last value and display() show: the text format. */
  repr(): string {
    return this.toString();
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** A jaxpr with the values of its constvars. */
export class ClosedJaxpr {
  constructor(
    readonly jaxpr: Jaxpr,
    readonly consts: NDArray[],
  ) {}
  get inAvals(): ShapedArray[] {
    return this.jaxpr.inAvals;
  }
  get outAvals(): ShapedArray[] {
    return this.jaxpr.outAvals;
  }
  toString(): string {
    return this.jaxpr.toString();
  }
  repr(): string {
    return this.toString();
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

let printJaxprHook: (j: Jaxpr) => string = () => "<jaxpr>";
/** @internal The printer registers itself (it imports this file, not the other way round). */
export function _setJaxprPrinter(fn: (j: Jaxpr) => string): void {
  printJaxprHook = fn;
}
