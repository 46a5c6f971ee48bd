// Structural keys of jaxprs: a string that two closed jaxprs share only when they are the same
// program up to the naming of their variables and their source lines, for the compiler's cache
// of lowered programs (kernel/lower/program-cache.ts). Two fresh `jit`s of functions doing the
// same operations on the same avals trace to different objects with the same key, so the
// second one reuses the first one's kernels, as jax-js and XLA's compilation cache do.
//
// What the key holds: the avals of every binder, each equation's primitive (by identity: two
// primitives may share a name), its input atoms (variables by position of binding, literals by
// value, dtype and weak type), its parameters (plain data by value, dtypes and avals by value,
// nested jaxprs by their own structural key, anything else, such as functions, by identity)
// and its outputs, then the output atoms. Constants are keyed one of two ways:
//   - "values": by their bits (and which of them are one array). What the passes make of a
//     program depends on its constants' values (folding, splats, x*1), so a key of the program
//     as traced must hold them. Only small concrete constants are keyed so (KEY_VALUES_MAX_*);
//     for others the key is null (not cached by value).
//   - "avals": by aval only, for a program whose lowering reads no constant value (the
//     optimised program: lowering is structural, and the values are passed at run time).
// A nested closed jaxpr with constants (a cond branch or loop body closing over arrays) is keyed
// by identity in both modes: a program reusing a cached lowering runs the cached steps, whose
// parameters hold the nested bodies, so only the same bodies may share it.

import { NDArray } from "../core/ndarray";
import { Tracer } from "../core/trace";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "./jaxpr";
import { idOf, numKey } from "./keys";

export type ConstKeying = "values" | "avals";

/** The largest constant (elements) keyed by its bits; a bigger one makes the "values" key null. */
export const KEY_VALUES_MAX_ELEMENTS = 1024;
/** The most elements of all constants together keyed by their bits. */
export const KEY_VALUES_MAX_TOTAL = 8192;



/** Thrown inside the walk when a constant cannot be keyed by value. */
class Unkeyable {}
const UNKEYABLE = new Unkeyable();

/** The bits of a concrete array as a string (two bytes per character). */
function bitsOf(x: NDArray): string {
  const s = x._buf("jit").readSync();
  const bytes = new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
  const even = bytes.byteLength & ~1;
  const words = (bytes.byteOffset & 1) === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, even >> 1) : new Uint16Array(bytes.slice(0, even).buffer);
  let out = "";
  for (let i = 0; i < words.length; i += 4096) out += String.fromCharCode.apply(null, words.subarray(i, i + 4096) as unknown as number[]);
  if (even !== bytes.byteLength) out += String.fromCharCode(bytes[even]);
  return `${bytes.byteLength}:${out}`;
}

class KeyWriter {
  /** The parameters' key being written. */
  out = "";
  private total = 0;
  constructor(readonly mode: ConstKeying) {}

  /** The key of a closed jaxpr (`out` is used as scratch space for parameters). */
  closed(cj: ClosedJaxpr, nested: boolean): string {
    // A nested body's constants are values a cached program would run with (its steps hold
    // the body as a parameter): such a body is keyed by identity in either mode.
    if (nested && cj.consts.length > 0) return `#${idOf(cj)}`;
    const names = new Map<Var, number>();
    const bindVar = (v: Var): string => {
      if (v instanceof DropVar) return `_${v.aval.key()}`;
      names.set(v, names.size);
      return v.aval.key();
    };
    const j = cj.jaxpr;
    let out = `{${j.constvars.length};`;
    const seen = new Map<NDArray, number>();
    for (let i = 0; i < j.constvars.length; i++) {
      out += bindVar(j.constvars[i]);
      const x = cj.consts[i];
      const first = seen.get(x);
      if (first !== undefined) out += `=${first}`;
      else {
        seen.set(x, i);
        if (this.mode === "values") out += `:${this.constBits(x)}`;
      }
      out += ",";
    }
    out += ";";
    for (const v of j.invars) out += `${bindVar(v)},`;
    out += ";";
    const atom = (a: Atom): string => {
      if (a instanceof Literal) return `l${typeof a.value === "boolean" ? (a.value ? "T" : "F") : numKey(a.value)}:${a.aval.key()}`;
      const n = names.get(a);
      // A variable bound nowhere in this jaxpr (never in a well-formed one): by identity.
      return n === undefined ? `f${idOf(a)}` : `v${n}`;
    };
    for (const e of j.eqns) {
      out += `${e.primitive.name}#${idOf(e.primitive)}(`;
      for (const a of e.inputs) out += `${atom(a)} `;
      out += ")[";
      this.out = "";
      this.params(e.params);
      out += `${this.out}]`;
      for (const v of e.outVars) out += `${bindVar(v)} `;
      out += ";";
    }
    for (const a of j.outvars) out += `${atom(a)} `;
    return `${out}}`;
  }

  private constBits(x: NDArray): string {
    if (x instanceof Tracer || x._disposed || x._buffer === null || x.size > KEY_VALUES_MAX_ELEMENTS) throw UNKEYABLE;
    this.total += x.size;
    if (this.total > KEY_VALUES_MAX_TOTAL) throw UNKEYABLE;
    return bitsOf(x);
  }

  /** Appends the key of a parameter dict to `out`. */
  private params(p: Record<string, unknown>): void {
    const keys = Object.keys(p);
    if (keys.length > 1) keys.sort();
    for (const k of keys) {
      this.out += `${k}=`;
      this.value(p[k]);
      this.out += ",";
    }
  }

  /** Appends the key of a parameter value to `out`. */
  private value(v: unknown): void {
    if (v === null) {
      this.out += "N";
      return;
    }
    switch (typeof v) {
      case "undefined":
        this.out += "U";
        return;
      case "number":
        this.out += `n${numKey(v)}`;
        return;
      case "string":
        this.out += JSON.stringify(v);
        return;
      case "boolean":
        this.out += v ? "T" : "F";
        return;
      case "bigint":
        this.out += `g${v}`;
        return;
      case "symbol":
        this.out += `#${idOf(Object(v))}`;
        return;
      case "function":
        this.out += `#${idOf(v)}`;
        return;
    }
    if (Array.isArray(v)) {
      this.out += "[";
      for (const x of v) {
        this.value(x);
        this.out += ",";
      }
      this.out += "]";
      return;
    }
    const o = v as object;
    if (o instanceof ClosedJaxpr || o instanceof Jaxpr) {
      const before = this.out;
      const key = this.closed(o instanceof ClosedJaxpr ? o : new ClosedJaxpr(o, []), true);
      this.out = before + key;
      return;
    }
    const proto = Object.getPrototypeOf(o);
    if (proto === Object.prototype || proto === null) {
      this.out += "{";
      this.params(o as Record<string, unknown>);
      this.out += "}";
      return;
    }
    const name = (o as { constructor?: { name?: string } }).constructor?.name;
    // DTypes are singletons and ShapedArrays are values (as the CSE pass keys them).
    if (name === "DType") this.out += `d${(o as { name: string }).name}`;
    else if (name === "ShapedArray") this.out += `a${(o as { key(): string }).key()}`;
    else this.out += `#${idOf(o)}`;
  }
}

/**
 * The structural key of a closed jaxpr (see the header), or null when `consts` is "values" and
 * a constant is not a small concrete array.
 */
export function structuralKey(cj: ClosedJaxpr, consts: ConstKeying): string | null {
  const w = new KeyWriter(consts);
  try {
    return `${consts[0]}${w.closed(cj, false)}`;
  } catch (e) {
    if (e === UNKEYABLE) return null;
    throw e;
  }
}

/**
 * The equations of a jaxpr and of the jaxprs nested in their parameters, depth first in the
 * order the key walks them: two jaxprs with equal keys list corresponding equations at the
 * same positions (how a cached program's source lines are moved onto a new program's).
 */
export function equationsInOrder(j: Jaxpr): JaxprEqn[] {
  const out: JaxprEqn[] = [];
  const visit = (v: unknown): void => {
    if (v instanceof ClosedJaxpr) walk(v.jaxpr);
    else if (v instanceof Jaxpr) walk(v);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === "object" && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null))
      for (const k of Object.keys(v).sort()) visit((v as Record<string, unknown>)[k]);
  };
  const walk = (jj: Jaxpr): void => {
    for (const e of jj.eqns) {
      out.push(e);
      for (const k of Object.keys(e.params).sort()) visit(e.params[k]);
    }
  };
  walk(j);
  return out;
}
