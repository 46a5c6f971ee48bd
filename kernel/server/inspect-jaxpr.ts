// The IR panel's records (inspect/irRecords): each traced program as its printed text and as
// data, equation by equation, with the names the printer gives the variables, the source line
// of each equation and the lines of the text it occupies; jit records add the optimised
// program the compiler lowered, grad records the forward and backward programs, pmap records
// the mapped axis and the devices their per-device program runs on.

import { ClosedJaxpr, Atom, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "../ir/jaxpr";
import { LineMarks } from "../ir/pretty";
import { literalText, paramText, printJaxprLines, varName } from "../ir/printer";
import { TraceRecord } from "../ir/trace-log";
import { CompiledRecord, inspectCompiled } from "../lower/inspect";
import { AtomInfo, EqnInfo, InspectRecordsParams, IrRecord, IrRecordsResult, JaxprInfo, ParamInfo, PmapInfo, VarInfo } from "../protocol";
import { dropUnusedOutputs } from "../transforms/stage";
import { INSPECT_LIMITS, avalInfo, capText, jsonNumber, selectRecords, sourceLine, store } from "./inspect-common";

/** Names variables as the printer does (kernel/ir/printer.ts): order of first appearance, jit bodies aliased. */
class Namer {
  private readonly names = new Map<Var, string>();
  private count = 0;
  name(v: Var): string {
    if (v instanceof DropVar) return "_";
    let s = this.names.get(v);
    if (s === undefined) this.names.set(v, (s = varName(this.count++)));
    return s;
  }
  alias(v: Var, as: Atom): void {
    if (as instanceof Var && !(as instanceof DropVar) && !(v instanceof DropVar)) this.names.set(v, this.name(as));
  }
}

interface Budget {
  left: number;
  truncated: boolean;
  /** Where the printer put each equation (consumed in print order), and the lines that were sent. */
  lines?: LineMarks;
  sentLines: number;
}

const isJaxpr = (v: unknown): v is Jaxpr | ClosedJaxpr => v instanceof Jaxpr || v instanceof ClosedJaxpr;
const open = (v: Jaxpr | ClosedJaxpr): Jaxpr => (v instanceof ClosedJaxpr ? v.jaxpr : v);

/** The parameters in the printer's order: its printParams order, else sorted by name. */
function printedParams(e: JaxprEqn): [string, unknown][] {
  const params = e.primitive.printParams ? e.primitive.printParams(e.params) : e.params;
  const keys = e.primitive.printParams ? Object.keys(params) : Object.keys(params).sort();
  return keys.map((k) => [k, params[k]]);
}

const varInfo = (v: Var, n: Namer): VarInfo => ({ name: n.name(v), aval: avalInfo(v.aval) });
function atomInfo(a: Atom, n: Namer): AtomInfo {
  if (a instanceof Literal) {
    const value = typeof a.value === "boolean" ? a.value : jsonNumber(a.value);
    return { kind: "literal", value, text: literalText(a.value, a.aval.dtype), aval: avalInfo(a.aval) };
  }
  return { kind: "var", name: n.name(a), aval: avalInfo(a.aval) };
}

/** Names an equation's variables without building it (equations past the cap keep the printed names). */
function nameOnly(e: JaxprEqn, n: Namer): void {
  e.outVars.forEach((v) => n.name(v));
  for (const [, v] of printedParams(e)) {
    const nested = isJaxpr(v) ? [v] : Array.isArray(v) && v.length > 0 && v.every(isJaxpr) ? v : [];
    for (const x of nested) {
      const j = open(x);
      if (e.primitive.aliasNestedNames && isJaxpr(v)) aliasNested(e, j, n);
      j.constvars.forEach((c) => n.name(c));
      j.invars.forEach((c) => n.name(c));
      j.eqns.forEach((q) => nameOnly(q, n));
      j.outvars.forEach((a) => a instanceof Var && n.name(a));
    }
  }
  e.inputs.forEach((a) => a instanceof Var && n.name(a));
}

function aliasNested(e: JaxprEqn, j: Jaxpr, n: Namer): void {
  j.invars.forEach((iv, i) => n.alias(iv, e.inputs[i]));
  j.outvars.forEach((ov, i) => ov instanceof Var && n.alias(ov, e.outVars[i]));
}

function eqnInfo(e: JaxprEqn, index: number, n: Namer, budget: Budget): EqnInfo {
  // Taken before the nested equations: the printer marked this equation before them.
  const at = budget.lines?.get(e)?.shift();
  // The printer's order: outputs, then parameters (nested jaxprs), then inputs.
  const outVars = e.outVars.map((v) => varInfo(v, n));
  const params: ParamInfo[] = [];
  const shown: string[] = [];
  for (const [name, v] of printedParams(e)) {
    if (isJaxpr(v)) {
      const j = open(v);
      if (e.primitive.aliasNestedNames) aliasNested(e, j, n);
      params.push({ name, kind: "jaxprs", tuple: false, jaxprs: [jaxprInfoWith(j, n, budget)] });
    } else if (Array.isArray(v) && v.length > 0 && v.every(isJaxpr)) {
      params.push({ name, kind: "jaxprs", tuple: true, jaxprs: v.map((x) => jaxprInfoWith(open(x), n, budget)) });
    } else {
      const text = paramText(v);
      params.push({ name, kind: "value", text });
      shown.push(`${name}=${text}`);
    }
  }
  const inputs = e.inputs.map((a) => atomInfo(a, n));
  const info: EqnInfo = { index, primitive: e.primitive.name, outVars, inputs, params, paramsText: shown.join(" "), source: sourceLine(e.source) };
  if (at && at[1] < budget.sentLines) info.textLines = [at[0], at[1]];
  return info;
}

function jaxprInfoWith(j: Jaxpr, n: Namer, budget: Budget): JaxprInfo {
  const constvars = j.constvars.map((v) => varInfo(v, n));
  const invars = j.invars.map((v) => varInfo(v, n));
  const eqns: EqnInfo[] = [];
  let cut = false;
  j.eqns.forEach((e, i) => {
    if (budget.left <= 0) {
      cut = budget.truncated = true;
      nameOnly(e, n);
      return;
    }
    budget.left--;
    eqns.push(eqnInfo(e, i, n, budget));
  });
  const outvars = j.outvars.map((a) => atomInfo(a, n));
  const info: JaxprInfo = { constvars, invars, eqns, outvars, eqnCount: j.eqns.length };
  if (cut || eqns.some((q) => q.params.some((p) => p.kind === "jaxprs" && p.jaxprs.some((x) => x.truncated)))) info.truncated = true;
  return info;
}

/**
 * A jaxpr as data, its variables named as `printJaxpr` names them, nested jaxprs included;
 * at most `maxEqns` equations in all (the rest are left out and `truncated` is set). With the
 * printer's line marks (`printJaxprLines`), each equation gets the lines of `sentLines` it
 * occupies.
 */
export function jaxprInfo(j: Jaxpr | ClosedJaxpr, maxEqns: number = INSPECT_LIMITS.eqns, lines?: LineMarks, sentLines = Infinity): JaxprInfo {
  return jaxprInfoWith(open(j), new Namer(), { left: maxEqns, truncated: false, lines, sentLines });
}

/** A program's printed text (capped) and its structure, with each equation's lines in the text. */
export interface BuiltJaxpr {
  text: string;
  jaxpr: JaxprInfo;
}

const builtJaxprs = new WeakMap<ClosedJaxpr, BuiltJaxpr>();
/** The text and structure of a program, built once per program. */
export function builtJaxpr(cj: ClosedJaxpr): BuiltJaxpr {
  let b = builtJaxprs.get(cj);
  if (!b) {
    const printed = printJaxprLines(cj);
    const text = capText(printed.text).text;
    const sent = printed.text.length === text.length ? Infinity : text.split("\n").length - 1;
    builtJaxprs.set(cj, (b = { text, jaxpr: jaxprInfo(cj, INSPECT_LIMITS.eqns, printed.lines, sent) }));
  }
  return b;
}

const shownPrograms = new WeakMap<ClosedJaxpr, ClosedJaxpr>();
/**
 * The program a record shows, as `makeJaxpr` prints it: a jit record's traced jaxpr without
 * the extra outputs of taps; a pmap record's per-device program with its unused results marked
 * `_` (pmap stages the body keeping every name, as jit does; makeJaxpr of the body drops them).
 * Other records show their jaxpr as it is.
 */
export function shownProgram(r: TraceRecord): ClosedJaxpr {
  if (!r.tapOutputs && r.kind !== "pmap") return r.jaxpr;
  let v = shownPrograms.get(r.jaxpr);
  if (!v) {
    const j = r.jaxpr.jaxpr;
    const outvars = r.tapOutputs ? j.outvars.slice(0, j.outvars.length - r.tapOutputs) : j.outvars;
    const shown = new Jaxpr(j.constvars, j.invars, j.eqns, outvars);
    v = new ClosedJaxpr(r.kind === "pmap" ? dropUnusedOutputs(shown) : shown, r.jaxpr.consts);
    shownPrograms.set(r.jaxpr, v);
  }
  return v;
}

/**
 * A pmap record's axis and devices in words (`axis i of size 2, runs on cpu:0, cpu:1`), as
 * `primal run --ir` and inspect/jaxprs head its per-device program.
 */
export function describePmap(p: PmapInfo): string {
  const axis = p.axisName === null ? `an unnamed axis of size ${p.axisSize}` : `axis ${p.axisName} of size ${p.axisSize}`;
  return `${axis}, runs on ${p.devices.join(", ")}`;
}

/** Builds a lazily staged program of a record, or says why it could not be staged. */
function staged(make: (() => ClosedJaxpr) | undefined): BuiltJaxpr | undefined {
  if (!make) return undefined;
  try {
    return builtJaxpr(make());
  } catch (e) {
    const why = `(could not be staged: ${e instanceof Error ? e.message : String(e)})`;
    return { text: why, jaxpr: { constvars: [], invars: [], eqns: [], outvars: [], eqnCount: 0 } };
  }
}

/** The newest compiled record of each traced program. */
function compiledByJaxpr(): Map<ClosedJaxpr, CompiledRecord> {
  const m = new Map<ClosedJaxpr, CompiledRecord>();
  for (const c of inspectCompiled()) m.set(c.before, c);
  return m;
}

/** Answer of `inspect/irRecords`. */
export function irRecords(p: InspectRecordsParams = {}): IrRecordsResult {
  const picked = selectRecords(store.traces, p, (t) => t.record.source?.file ?? null);
  const compiled = compiledByJaxpr();
  const records = picked.map((t): IrRecord => {
    const r = t.record;
    // A grad record shows the function (forward); its linear program is `linear`.
    const fwd = r.kind === "grad" ? staged(r.forward) : undefined;
    const b = fwd ?? builtJaxpr(shownProgram(r));
    const rec: IrRecord = { id: t.id, kind: r.kind, name: r.name, source: sourceLine(r.source), inAvals: r.inAvals.map(avalInfo), text: b.text, jaxpr: b.jaxpr };
    if (t.cell !== undefined) rec.cell = t.cell;
    if (t.runId !== undefined) rec.runId = t.runId;
    if (r.tapOutputs) rec.tapOutputs = r.tapOutputs;
    if (r.kind === "pmap" && r.pmap) rec.pmap = { axisName: r.pmap.axisName, axisSize: r.pmap.axisSize, devices: [...r.pmap.devices] };
    if (r.kind === "grad") {
      const back = staged(r.backward);
      if (back) rec.backward = back;
      if (fwd) rec.linear = builtJaxpr(r.jaxpr);
    }
    const c = compiled.get(r.jaxpr);
    if (c) {
      const a = builtJaxpr(c.after);
      rec.optimized = { compiledId: c.id, text: a.text, jaxpr: a.jaxpr };
    }
    return rec;
  });
  return { records, total: store.traces.length };
}
