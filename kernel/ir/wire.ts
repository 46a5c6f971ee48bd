// The wire format of closed jaxprs: a ClosedJaxpr as plain data that survives structured clone
// (postMessage), so a program traced on the main thread can be rebuilt in a worker thread that
// runs its own copy of Primal (pmap's per-device workers) and bound there with jit or evaluated.
//
// Why a format at all: a jaxpr is a graph of class instances (Var identity, Primitive records
// with their rules, DType singletons, NDArrays on a device) that structured clone would either
// refuse or flatten into useless copies. Here every object that names something the receiving
// thread already has (primitives, dtypes) travels by name, every value travels by its data, and
// anything else (functions, devices, tracers, unknown classes) is refused at encoding time with
// a WireError naming the primitive and the parameter, rather than failing later in the worker.
//
// Layout: one message holds tables shared by all the jaxprs in it (avals, arrays, source files,
// jaxprs, closed jaxprs), and references into them by index. Sharing is kept: an aval, array,
// Jaxpr or ClosedJaxpr that appears twice is sent once and decodes to one object, so caches the
// receiver keys by object identity (jit's per-ClosedJaxpr caches) behave as on the sender.
// Variables are numbered per jaxpr in order of first appearance; an atom is a variable number
// (>= 0) or, negative, a literal of the jaxpr's literal table (-1 - index).

import { ShapedArray } from "../core/aval";
import { DTYPES, DType, DTypeName, Storage } from "../core/dtype";
import { NotAvailableError } from "../core/errors";
import { NDArray, fromStorage } from "../core/ndarray";
import { Primitive, getPrimitive } from "../core/primitive";
import { describeValue, isPlainObject } from "../core/shape";
import { Tracer } from "../core/trace";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, SourceInfo, Var } from "./jaxpr";

/** A closed jaxpr, or a value in it, that cannot be sent to (or rebuilt in) another thread. */
export class WireError extends NotAvailableError {}

const FORMAT = "primal.closed-jaxpr";
const VERSION = 1;

/** An aval by its fields. */
export interface WireAval {
  dtype: DTypeName;
  shape: number[];
  weak: boolean;
}

/** A concrete array: a compact copy of its storage (f16/bf16 as bit patterns). */
export interface WireArray extends WireAval {
  data: Storage;
}

/** A parameter value: JS scalars and lists as they are, everything else tagged. */
export type WireValue =
  | null
  | undefined
  | number
  | string
  | boolean
  | bigint
  | WireValue[]
  | { $: "obj"; nullProto: boolean; v: { [k: string]: WireValue } }
  | { $: "dtype"; name: DTypeName }
  | { $: "aval"; a: number }
  | { $: "jaxpr"; j: number }
  | { $: "closed"; c: number }
  | { $: "lit"; value: number | boolean; a: number }
  | { $: "array"; x: number }
  | { $: "typed"; v: ArrayBufferView }
  | { $: "prim"; name: string };

/** One equation: atoms by number, source as [file index, line, column]. */
export interface WireEqn {
  prim: string;
  in: number[];
  params: { [k: string]: WireValue };
  out: number[];
  src: [number, number, number] | null;
}

/** One jaxpr: its variables (aval index each), which of them are DropVars, literals, binders. */
export interface WireJaxpr {
  vars: number[];
  dropVars: number[];
  lits: { value: number | boolean; a: number }[];
  constvars: number[];
  invars: number[];
  eqns: WireEqn[];
  outvars: number[];
}

/** A closed jaxpr as plain data that survives structured clone (postMessage). */
export interface WireClosedJaxpr {
  format: typeof FORMAT;
  version: number;
  avals: WireAval[];
  arrays: WireArray[];
  files: string[];
  jaxprs: WireJaxpr[];
  /** Closed jaxprs: a jaxpr index and its consts (array indices). */
  closed: { jaxpr: number; consts: number[] }[];
  /** The index in `closed` of the encoded program. */
  root: number;
}

const OP_ENC = "encodeClosedJaxpr";
const OP_DEC = "decodeClosedJaxpr";

class Encoder {
  readonly w: WireClosedJaxpr = { format: FORMAT, version: VERSION, avals: [], arrays: [], files: [], jaxprs: [], closed: [], root: 0 };
  private avalIds = new Map<string, number>();
  private arrayIds = new Map<NDArray, number>();
  private fileIds = new Map<string, number>();
  private jaxprIds = new Map<Jaxpr, number>();
  private closedIds = new Map<ClosedJaxpr, number>();
  /** Where the walk is, for error messages: the primitive and the parameter path. */
  private prim = "";
  private path: (string | number)[] = [];
  /** The equations whose parameters hold the jaxpr being walked, innermost last. */
  private outer: string[] = [];
  private active = new Set<object>();

  aval(a: ShapedArray): number {
    const key = a.key();
    let i = this.avalIds.get(key);
    if (i === undefined) {
      this.dtypeName(a.dtype);
      this.avalIds.set(key, (i = this.w.avals.length));
      this.w.avals.push({ dtype: a.dtype.name, shape: [...a.shape], weak: a.weakType });
    }
    return i;
  }

  private dtypeName(d: DType): DTypeName {
    if (Object.hasOwn(DTYPES, d.name) && DTYPES[d.name] === d) return d.name;
    throw this.fail("holds a DType that is not one of the registered dtypes", d);
  }

  array(x: NDArray): number {
    let i = this.arrayIds.get(x);
    if (i !== undefined) return i;
    if (x instanceof Tracer) throw this.fail("holds a traced value (Tracer), whose value is not known until the program runs", x);
    if (x._disposed || x._buffer === null) throw this.fail("holds an array without data (disposed)", x);
    // A copy of just this array's elements: the storage may be a view of a larger buffer (wasm
    // memory, a pooled region) that structured clone would copy whole, or that is reused later.
    const data = x._buf(OP_ENC).readSync().slice();
    this.arrayIds.set(x, (i = this.w.arrays.length));
    this.w.arrays.push({ dtype: this.dtypeName(x.dtype), shape: [...x.shape], weak: x.weakType, data });
    return i;
  }

  closed(cj: ClosedJaxpr): number {
    let i = this.closedIds.get(cj);
    if (i !== undefined) return i;
    this.closedIds.set(cj, (i = this.w.closed.length));
    const entry = { jaxpr: -1, consts: [] as number[] };
    this.w.closed.push(entry);
    entry.jaxpr = this.jaxpr(cj.jaxpr);
    if (cj.consts.length !== cj.jaxpr.constvars.length)
      throw new WireError(`${OP_ENC}: a closed jaxpr has ${cj.jaxpr.constvars.length} constvars and ${cj.consts.length} consts, got a malformed ClosedJaxpr`);
    entry.consts = cj.consts.map((x) => this.array(x));
    return i;
  }

  jaxpr(j: Jaxpr): number {
    let i = this.jaxprIds.get(j);
    if (i !== undefined) return i;
    this.jaxprIds.set(j, (i = this.w.jaxprs.length));
    const wj: WireJaxpr = { vars: [], dropVars: [], lits: [], constvars: [], invars: [], eqns: [], outvars: [] };
    this.w.jaxprs.push(wj);
    const varIds = new Map<Var, number>();
    const litIds = new Map<Literal, number>();
    const atom = (a: Atom): number => {
      if (a instanceof Literal) {
        let k = litIds.get(a);
        if (k === undefined) {
          litIds.set(a, (k = wj.lits.length));
          wj.lits.push({ value: a.value, a: this.aval(a.aval) });
        }
        return -1 - k;
      }
      let k = varIds.get(a);
      if (k === undefined) {
        varIds.set(a, (k = wj.vars.length));
        wj.vars.push(this.aval(a.aval));
        if (a instanceof DropVar) wj.dropVars.push(k);
      }
      return k;
    };
    wj.constvars = j.constvars.map(atom);
    wj.invars = j.invars.map(atom);
    const outerPrim = this.prim;
    const outerPath = this.path;
    if (outerPrim) this.outer.push(`parameter "${pathText(outerPath)}" of primitive ${outerPrim}`);
    for (const e of j.eqns) {
      const name = e.primitive.name;
      this.prim = name;
      this.path = [];
      if (getPrimitive(name) !== e.primitive)
        throw this.fail(`uses a Primitive object that is not the one registered under its name, so the receiver would run another primitive`, e.primitive, false);
      const ins = e.inputs.map(atom);
      const params: { [k: string]: WireValue } = {};
      for (const k of Object.keys(e.params)) {
        this.path.push(k);
        params[k] = this.value(e.params[k]);
        this.path.pop();
      }
      const s = e.source;
      wj.eqns.push({ prim: name, in: ins, params, out: e.outVars.map(atom), src: s ? [this.file(s.file), s.line, s.column] : null });
    }
    if (outerPrim) this.outer.pop();
    this.prim = outerPrim;
    this.path = outerPath;
    wj.outvars = j.outvars.map(atom);
    return i;
  }

  private file(f: string): number {
    let i = this.fileIds.get(f);
    if (i === undefined) this.fileIds.set(f, (i = this.w.files.push(f) - 1));
    return i;
  }

  /** A parameter value (see WireValue); throws a WireError for anything that cannot travel. */
  private value(v: unknown): WireValue {
    switch (typeof v) {
      case "number": case "string": case "boolean": case "bigint": case "undefined":
        return v;
      case "function": case "symbol":
        throw this.fail(`holds a ${typeof v}, which cannot be sent to another thread`, v);
    }
    if (v === null) return null;
    const o = v as object;
    if (this.active.has(o)) throw this.fail("holds a value that contains itself", o);
    if (Array.isArray(o)) {
      this.active.add(o);
      const out: WireValue[] = new Array(o.length);
      for (let k = 0; k < o.length; k++) {
        this.path.push(k);
        out[k] = this.value(o[k]);
        this.path.pop();
      }
      this.active.delete(o);
      return out;
    }
    if (isPlainObject(o)) {
      this.active.add(o);
      const out: { [k: string]: WireValue } = {};
      for (const k of Object.keys(o)) {
        this.path.push(k);
        out[k] = this.value((o as Record<string, unknown>)[k]);
        this.path.pop();
      }
      this.active.delete(o);
      return { $: "obj", nullProto: Object.getPrototypeOf(o) === null, v: out };
    }
    if (o instanceof DType) return { $: "dtype", name: this.dtypeName(o) };
    if (o instanceof ShapedArray) return { $: "aval", a: this.aval(o) };
    if (o instanceof ClosedJaxpr) return { $: "closed", c: this.closed(o) };
    if (o instanceof Jaxpr) return { $: "jaxpr", j: this.jaxpr(o) };
    if (o instanceof Literal) return { $: "lit", value: o.value, a: this.aval(o.aval) };
    if (o instanceof NDArray) return { $: "array", x: this.array(o) };
    if (o instanceof Primitive) {
      if (getPrimitive(o.name) !== o) throw this.fail("holds a Primitive object that is not the one registered under its name", o);
      return { $: "prim", name: o.name };
    }
    if (ArrayBuffer.isView(o) && !(o instanceof DataView)) return { $: "typed", v: (o as unknown as Uint8Array).slice() };
    throw this.fail("holds a value of a kind the wire format cannot send to another thread", o);
  }

  /** The WireError for the current primitive and parameter. */
  fail(what: string, got: unknown, inParam = true): WireError {
    const path = pathText(this.path);
    let where = inParam && path ? `parameter "${path}" of primitive ${this.prim}` : this.prim ? `an equation of primitive ${this.prim}` : "a constant of the program";
    if (this.outer.length) where += ` (in the jaxpr of ${[...this.outer].reverse().join(", in the jaxpr of ")})`;
    return new WireError(`${OP_ENC}: ${where} ${what}, got ${describeValue(got)}`);
  }
}

/** A parameter path as written in errors: `dimension_numbers.offset_dims[0]`. */
function pathText(path: readonly (string | number)[]): string {
  return path.map((p, k) => (typeof p === "number" ? `[${p}]` : k === 0 ? p : `.${p}`)).join("");
}

/**
 * Encodes a closed jaxpr as plain data for structured clone. Throws WireError naming the
 * primitive and parameter that cannot be sent (a function, a device, a tracer, an unknown class,
 * or a primitive that is not the one registered under its name). Constants are copied.
 */
export function encodeClosedJaxpr(cj: ClosedJaxpr): WireClosedJaxpr {
  const enc = new Encoder();
  enc.w.root = enc.closed(cj);
  return enc.w;
}

class Decoder {
  private avals: ShapedArray[];
  private arrays: (NDArray | undefined)[];
  private jaxprs: (Jaxpr | null | undefined)[];
  private closedJ: (ClosedJaxpr | null | undefined)[];
  private files: string[];
  constructor(private readonly w: WireClosedJaxpr) {
    this.avals = w.avals.map((a) => new ShapedArray(a.shape, dtypeOf(a.dtype), a.weak));
    this.arrays = new Array(w.arrays.length);
    this.jaxprs = new Array(w.jaxprs.length);
    this.closedJ = new Array(w.closed.length);
    this.files = w.files;
  }

  private aval(i: number): ShapedArray {
    const a = this.avals[i];
    if (a === undefined) throw new WireError(`${OP_DEC}: an aval index is out of range, got ${describeValue(i)}`);
    return a;
  }

  private array(i: number): NDArray {
    let x = this.arrays[i];
    if (x) return x;
    const wa = this.w.arrays[i];
    if (!wa) throw new WireError(`${OP_DEC}: an array index is out of range, got ${describeValue(i)}`);
    const aval = new ShapedArray(wa.shape, dtypeOf(wa.dtype), wa.weak);
    if (!(wa.data instanceof aval.dtype.storage) || wa.data.length !== aval.size)
      throw new WireError(`${OP_DEC}: the data of a constant ${aval.str()} should be ${aval.size} elements of ${aval.dtype.storage.name}, got ${describeValue(wa.data)}`);
    // The storage becomes the array's: after structured clone it belongs to this thread alone.
    return (this.arrays[i] = x = fromStorage(wa.data, aval));
  }

  closed(i: number): ClosedJaxpr {
    const c = this.closedJ[i];
    if (c) return c;
    if (c === null) throw new WireError(`${OP_DEC}: a closed jaxpr contains itself, got index ${i}`);
    const wc = this.w.closed[i];
    if (!wc) throw new WireError(`${OP_DEC}: a closed jaxpr index is out of range, got ${describeValue(i)}`);
    this.closedJ[i] = null;
    return (this.closedJ[i] = new ClosedJaxpr(this.jaxpr(wc.jaxpr), wc.consts.map((k) => this.array(k))));
  }

  jaxpr(i: number): Jaxpr {
    const done = this.jaxprs[i];
    if (done) return done;
    if (done === null) throw new WireError(`${OP_DEC}: a jaxpr contains itself, got index ${i}`);
    const wj = this.w.jaxprs[i];
    if (!wj) throw new WireError(`${OP_DEC}: a jaxpr index is out of range, got ${describeValue(i)}`);
    this.jaxprs[i] = null;
    const drops = new Set(wj.dropVars);
    const vars = wj.vars.map((a, k) => (drops.has(k) ? new DropVar(this.aval(a)) : new Var(this.aval(a))));
    const lits = wj.lits.map((l) => new Literal(l.value, this.aval(l.a)));
    const atom = (k: number): Atom => {
      const a = k >= 0 ? vars[k] : lits[-1 - k];
      if (a === undefined) throw new WireError(`${OP_DEC}: an atom index is out of range, got ${describeValue(k)}`);
      return a;
    };
    const asVar = (k: number): Var => {
      const a = atom(k);
      if (a instanceof Literal) throw new WireError(`${OP_DEC}: a binder is a literal, got ${describeValue(k)}`);
      return a;
    };
    const eqns = wj.eqns.map((we) => {
      const prim = getPrimitive(we.prim);
      if (!prim) throw new WireError(`${OP_DEC}: no primitive named ${describeValue(we.prim)} is registered in this thread, got an equation of it`);
      const params: Record<string, unknown> = {};
      for (const k of Object.keys(we.params)) params[k] = this.value(we.params[k]);
      const src: SourceInfo | null = we.src ? { file: this.files[we.src[0]], line: we.src[1], column: we.src[2] } : null;
      return new JaxprEqn(prim, we.in.map(atom), params, we.out.map(asVar), src);
    });
    const j = new Jaxpr(wj.constvars.map(asVar), wj.invars.map(asVar), eqns, wj.outvars.map(atom));
    return (this.jaxprs[i] = j);
  }

  private value(v: WireValue): unknown {
    if (typeof v !== "object" || v === null) return v;
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    switch (v.$) {
      case "obj": {
        const out: Record<string, unknown> = v.nullProto ? Object.create(null) : {};
        for (const k of Object.keys(v.v)) out[k] = this.value(v.v[k]);
        return out;
      }
      case "dtype": return dtypeOf(v.name);
      case "aval": return this.aval(v.a);
      case "jaxpr": return this.jaxpr(v.j);
      case "closed": return this.closed(v.c);
      case "lit": return new Literal(v.value, this.aval(v.a));
      case "array": return this.array(v.x);
      case "typed": return v.v;
      case "prim": {
        const p = getPrimitive(v.name);
        if (!p) throw new WireError(`${OP_DEC}: no primitive named ${describeValue(v.name)} is registered in this thread, got it as a parameter`);
        return p;
      }
    }
    throw new WireError(`${OP_DEC}: a parameter value of an unknown kind, got ${describeValue(v)}`);
  }
}

function dtypeOf(name: string): DType {
  if (!Object.hasOwn(DTYPES, name)) throw new WireError(`${OP_DEC}: unknown dtype name, got ${describeValue(name)}`);
  return DTYPES[name as DTypeName];
}

/**
 * Rebuilds an encoded closed jaxpr in this thread: primitives by name (getPrimitive), dtypes by
 * name, constants as concrete arrays on the default device. The constants take ownership of the
 * wire's storages (structured clone made them this thread's), so decode a received message once.
 */
export function decodeClosedJaxpr(w: WireClosedJaxpr): ClosedJaxpr {
  if (w === null || typeof w !== "object" || w.format !== FORMAT)
    throw new WireError(`${OP_DEC}: not an encoded closed jaxpr, got ${describeValue(w)}`);
  if (w.version !== VERSION) throw new WireError(`${OP_DEC}: wire format version ${VERSION} expected, got ${describeValue(w.version)}`);
  return new Decoder(w).closed(w.root);
}
