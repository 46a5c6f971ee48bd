// Prints jaxprs exactly in JAX's text format (jax._src.core.pp_jaxpr): binders `a:f32[3]`,
// names a..z, ba, bb..., `_` for dropped outputs, literals `3.0:f32[]`, parameters sorted by
// name in `prim[k=v ...]` with Python-style values, nested jaxprs laid out in place, one line
// when it fits in 80 columns, otherwise one equation per line.

import { DType } from "../core/dtype";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var, _setJaxprPrinter } from "./jaxpr";
import { Doc, LineMarks, brk, concat, format, group, join, mark, nest, nil, text } from "./pretty";

/** JAX's `_encode_digits_alphabetic`: 0 -> a, 25 -> z, 26 -> ba. */
export function varName(n: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n);
  return s;
}

/** Names variables in order of first appearance; shared by nested jaxprs, as in JAX. */
class Names {
  private readonly names = new Map<Var, string>();
  private count = 0;
  name(v: Var): string {
    if (v instanceof DropVar) return "_";
    let s = this.names.get(v);
    if (s === undefined) {
      s = varName(this.count++);
      this.names.set(v, s);
    }
    return s;
  }
  /** Gives `v` the name another variable already has (jit's inner binders take the outer names). */
  alias(v: Var, as: Atom): void {
    if (as instanceof Var && !(as instanceof DropVar) && !(v instanceof DropVar)) this.names.set(v, this.name(as));
  }
}

/**
 * A scalar literal as JAX prints it: the Python repr of the value (a float32 value shows all the
 * digits of its float64 repr: `1.4142135381698608`), `2.0`, `2`, `True`, `inf`, `-inf`, `nan`.
 */
export function literalText(value: number | boolean, dtype: DType): string {
  if (typeof value === "boolean" || dtype.isBool) return value ? "True" : "False";
  if (!dtype.isFloat) return String(value);
  return pythonFloatRepr(value);
}

/** Python's repr of a float: JS's shortest digits, with Python's exponent and ".0" spelling. */
export function pythonFloatRepr(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v < 0 ? "-inf" : "inf";
  if (Object.is(v, -0)) return "-0.0";
  const a = Math.abs(v);
  if (a >= 1e16 || (a !== 0 && a < 1e-4)) {
    // Python switches to exponent notation at 1e16 and below 1e-4, with at least two exponent digits.
    const [m, e] = v.toExponential().split("e");
    const exp = Number(e);
    return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const s = String(v);
  return s.includes(".") || s.includes("e") ? s : `${s}.0`;
}

function atom(a: Atom, names: Names): string {
  if (a instanceof Literal) return `${literalText(a.value, a.aval.dtype)}:${a.aval.str()}`;
  return names.name(a);
}

function binder(v: Var, names: Names): string {
  return `${names.name(v)}:${v.aval.str()}`;
}

/** A parameter value as Python's str() shows it: tuples, None, True, dtypes by name. */
export function paramText(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === "string") return v;
  if (v instanceof DType) return v.name;
  if (v instanceof Primitive) return v.name;
  if (v instanceof NDArray) return v.toString();
  if (Array.isArray(v)) return v.length === 1 ? `(${paramText(v[0])},)` : `(${v.map(paramText).join(", ")})`;
  if (typeof v === "function") return v.name || "<function>";
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    const name = (v as object).constructor?.name;
    const body = entries.map(([k, x]) => `${k}=${paramText(x)}`).join(", ");
    return name && name !== "Object" ? `${name}(${body})` : `{${entries.map(([k, x]) => `'${k}': ${paramText(x)}`).join(", ")}}`;
  }
  return String(v);
}

function ppParams(e: JaxprEqn, names: Names): Doc {
  const params = e.primitive.printParams ? e.primitive.printParams(e.params) : e.params;
  // JAX prints parameters sorted by name, except where a primitive's printer orders them (jit).
  const keys = e.primitive.printParams ? Object.keys(params) : Object.keys(params).sort();
  if (keys.length === 0) return nil;
  const pairs = keys.map((k) => {
    const v = params[k];
    if (v instanceof Jaxpr || v instanceof ClosedJaxpr) {
      const j = v instanceof ClosedJaxpr ? v.jaxpr : v;
      if (e.primitive.aliasNestedNames) {
        j.invars.forEach((iv, i) => names.alias(iv, e.inputs[i]));
        j.outvars.forEach((ov, i) => ov instanceof Var && names.alias(ov, e.outVars[i]));
      }
      return concat(text(`${k}=`), ppJaxpr(j, names));
    }
    if (Array.isArray(v) && v.length > 0 && v.every((x) => x instanceof Jaxpr || x instanceof ClosedJaxpr)) {
      // A tuple of jaxprs (cond's branches): one per line when it does not fit.
      const docs = v.map((x) => ppJaxpr(x instanceof ClosedJaxpr ? x.jaxpr : x, names));
      return group(concat(nest(2, concat(text(`${k}=(`), brk(""), join(brk(), docs))), brk(""), text(")")));
    }
    return text(`${k}=${paramText(v)}`);
  });
  return group(concat(nest(2, concat(text("["), brk(""), join(brk(), pairs))), brk(""), text("]")));
}

function ppEqn(e: JaxprEqn, names: Names): Doc {
  // Outputs are named first (as JAX does), then the parameters (nested jaxprs), then the inputs.
  const lhs = e.outVars.map((v) => binder(v, names)).join(" ");
  const params = ppParams(e, names);
  const rhsArgs = e.inputs.map((a) => atom(a, names));
  const rhs = concat(text(e.primitive.name), params, rhsArgs.length ? text(" " + rhsArgs.join(" ")) : nil);
  return mark(e, lhs ? concat(text(lhs + " = "), rhs) : rhs);
}

function ppJaxpr(j: Jaxpr, names: Names): Doc {
  const constvars = j.constvars.map((v) => binder(v, names)).join(" ");
  const invars = j.invars.map((v) => binder(v, names)).join(" ");
  const eqns = join(brk("; "), j.eqns.map((e) => ppEqn(e, names)));
  const outs = j.outvars.map((a) => atom(a, names));
  const outText = `(${outs.join(", ")}${outs.length === 1 ? "," : ""})`;
  return concat(
    group(
      nest(
        2,
        concat(
          text("{ lambda "),
          text(constvars ? constvars + "; " : "; "),
          text(invars + ". let"),
          j.eqns.length ? nest(2, concat(brk(), eqns)) : nil,
          brk(),
          text("in " + outText),
        ),
      ),
    ),
    text(" }"),
  );
}

/** The jaxpr in JAX's text format, laid out for `width` columns. */
export function printJaxpr(j: Jaxpr | ClosedJaxpr, width = 80): string {
  return format(ppJaxpr(j instanceof ClosedJaxpr ? j.jaxpr : j, new Names()), width);
}

/**
 * The jaxpr's text as `printJaxpr` gives it, and the lines each equation was printed on (per
 * equation object, one range per time it was printed, in print order: a nested jaxpr shared by
 * two equations is printed twice).
 */
export function printJaxprLines(j: Jaxpr | ClosedJaxpr, width = 80): { text: string; lines: LineMarks } {
  const lines: LineMarks = new Map();
  const text = format(ppJaxpr(j instanceof ClosedJaxpr ? j.jaxpr : j, new Names()), width, lines);
  return { text, lines };
}

_setJaxprPrinter((j) => printJaxpr(j));
