// The inspector panels' data (issue 7): structured, JSON-safe records of what the tracer made of
// each function (IR panel), of each differentiated function's gradients (gradients panel) and of
// each compiled program's kernels (kernels panel), answered by the inspect/*Records requests
// (types in kernel/protocol.ts). The text answers (inspect-text.ts) read the same trace store.
//
// Recording is a switch, off in the library and on in the kernel process: while it is off
// nothing here listens and tracing, grad and jit pay nothing. While it is on, every record is
// bounded: a fixed number of records of each kind, capped equation lists and texts, and the
// gradient statistics are computed on the host once per call (device arrays are read
// asynchronously, so a training loop on the GPU is not made to wait for each step's readback).
// The structured jaxprs are built when a panel first asks, then kept with the record.

import { ShapedArray } from "../core/aval";
import { allDevicesOfAllBackends } from "../core/device";
import { NDArray } from "../core/ndarray";
import { Tracer } from "../core/trace";
import { PyTreeDef } from "../core/tree";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, SourceInfo, Var } from "../ir/jaxpr";
import { literalText, paramText, printJaxpr, varName } from "../ir/printer";
import { LazySource, captureSource } from "../ir/source";
import { TraceRecord, onTrace } from "../ir/trace-log";
import { CompiledRecord, inspectCompiled, kernelTimingOn, onCompile, sourceLanguage } from "../lower/inspect";
import { GradCall, onGradCall } from "../transforms/autodiff";
import {
  AtomInfo, AvalInfo, EqnInfo, GradCallInfo, GradHistoryPoint, GradLeafInfo, GradLeafStats, GradientRecord, GradientRecordsResult,
  InspectRecordsParams, IrRecord, IrRecordsResult, JaxprInfo, JsonNumber, KernelProgramRecord, KernelRecordsResult, KernelStepInfo,
  ParamInfo, SourceLine, VarInfo,
} from "../protocol";

/** Caps that keep the records bounded. */
export const INSPECT_LIMITS = {
  /** Traced programs kept (oldest dropped). */
  traces: 200,
  /** Differentiated functions kept (least recently called dropped). */
  gradFunctions: 64,
  /** Calls kept in each function's history. */
  history: 200,
  /** Gradient leaves per call that get statistics and history. */
  leaves: 1000,
  /** Leaves larger than this get no statistics (reading them would cost more than the step). */
  statsElements: 1 << 24,
  /** Device reads in flight at once; calls beyond it get no statistics. */
  pendingReads: 64,
  /** Equations per structured jaxpr, nested ones included. */
  eqns: 20_000,
  /** Characters of a jaxpr text or a kernel source. */
  text: 2_000_000,
  /** Steps per compiled program. */
  steps: 5_000,
  /** Records per answer (`limit`). */
  answer: 200,
  defaultAnswer: 50,
  bins: 20,
} as const;

/** The cell run in progress, as the kernel server knows it. */
export interface RunContext {
  runId: string;
  file: string;
  cell: number;
}

/** A kept trace record, with the id and the run the panels refer to. */
export interface KeptTrace {
  id: number;
  record: TraceRecord;
  cell?: number;
  runId?: string;
}

let recording = false;
let unsubscribe: (() => void)[] = [];
let runContext: () => RunContext | null = () => null;
let nextTraceId = 0;
const traces: KeptTrace[] = [];
/** The run that compiled each program. */
const compiledRun = new WeakMap<CompiledRecord, RunContext>();

/**
 * Turns the recording of inspection records on or off (off by default; the kernel process
 * turns it on). `context` tells which cell run is in progress, to tag the records with it.
 * Turning it off keeps what was recorded.
 */
export function setInspectRecording(on: boolean, context?: () => RunContext | null): void {
  if (context) runContext = context;
  if (on === recording) return;
  recording = on;
  if (!on) {
    for (const u of unsubscribe) u();
    unsubscribe = [];
    return;
  }
  unsubscribe = [
    onTrace((record) => {
      const ctx = runContext();
      traces.push({ id: nextTraceId++, record, cell: ctx?.cell, runId: ctx?.runId });
      if (traces.length > INSPECT_LIMITS.traces) traces.splice(0, traces.length - INSPECT_LIMITS.traces);
    }),
    onCompile((r) => {
      const ctx = runContext();
      if (ctx) compiledRun.set(r, ctx);
    }),
    onGradCall(recordGradCall),
  ];
}

/** Whether inspection records are being recorded. */
export function inspectRecordingOn(): boolean {
  return recording;
}

/** The kept trace records, oldest first. */
export function keptTraces(): readonly KeptTrace[] {
  return traces;
}

/** Forgets the trace and gradient records (tests). */
export function clearInspectRecords(): void {
  traces.length = 0;
  grads.clear();
}

// ---- shared helpers ------------------------------------------------------------------------

/** A number JSON can carry: NaN and ±Infinity as strings. */
export function jsonNumber(x: number): JsonNumber {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return x;
}

const sourceLine = (s: SourceInfo | null): SourceLine | null => (s ? { file: s.file, line: s.line, column: s.column } : null);
const avalInfo = (a: ShapedArray): AvalInfo => ({ shape: [...a.shape], dtype: a.dtype.name, text: a.str() });

function capText(s: string): { text: string; cut: boolean } {
  if (s.length <= INSPECT_LIMITS.text) return { text: s, cut: false };
  return { text: `${s.slice(0, INSPECT_LIMITS.text)}\n... (${s.length - INSPECT_LIMITS.text} more characters not sent)`, cut: true };
}

function selectRecords<T extends { id: number }>(all: T[], p: InspectRecordsParams, fileOf: (r: T) => string | null): T[] {
  const limit = Math.max(0, Math.min(INSPECT_LIMITS.answer, p.limit ?? INSPECT_LIMITS.defaultAnswer));
  const ids = p.ids ? new Set(p.ids) : null;
  const out: T[] = [];
  for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
    const r = all[i];
    if (ids && !ids.has(r.id)) continue;
    if (p.file && fileOf(r) !== p.file) continue;
    out.push(r);
  }
  return out;
}

// ---- IR records ----------------------------------------------------------------------------

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
  return { index, primitive: e.primitive.name, outVars, inputs, params, paramsText: shown.join(" "), source: sourceLine(e.source) };
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
 * at most `maxEqns` equations in all (the rest are left out and `truncated` is set).
 */
export function jaxprInfo(j: Jaxpr | ClosedJaxpr, maxEqns: number = INSPECT_LIMITS.eqns): JaxprInfo {
  return jaxprInfoWith(open(j), new Namer(), { left: maxEqns, truncated: false });
}

const builtJaxprs = new WeakMap<ClosedJaxpr, { text: string; jaxpr: JaxprInfo }>();
function builtJaxpr(cj: ClosedJaxpr): { text: string; jaxpr: JaxprInfo } {
  let b = builtJaxprs.get(cj);
  if (!b) builtJaxprs.set(cj, (b = { text: capText(printJaxpr(cj)).text, jaxpr: jaxprInfo(cj) }));
  return b;
}

/** The newest compiled record of each traced program. */
function compiledByJaxpr(): Map<ClosedJaxpr, CompiledRecord> {
  const m = new Map<ClosedJaxpr, CompiledRecord>();
  for (const c of inspectCompiled()) m.set(c.before, c);
  return m;
}

/** Answer of `inspect/irRecords`. */
export function irRecords(p: InspectRecordsParams = {}): IrRecordsResult {
  const picked = selectRecords(traces, p, (t) => t.record.source?.file ?? null);
  const compiled = compiledByJaxpr();
  const records = picked.map((t): IrRecord => {
    const r = t.record;
    const b = builtJaxpr(r.jaxpr);
    const rec: IrRecord = { id: t.id, kind: r.kind, name: r.name, source: sourceLine(r.source), inAvals: r.inAvals.map(avalInfo), text: b.text, jaxpr: b.jaxpr };
    if (t.cell !== undefined) rec.cell = t.cell;
    if (t.runId !== undefined) rec.runId = t.runId;
    const c = compiled.get(r.jaxpr);
    if (c) {
      const a = builtJaxpr(c.after);
      rec.optimized = { compiledId: c.id, text: a.text, jaxpr: a.jaxpr };
    }
    return rec;
  });
  return { records, total: traces.length };
}

// ---- kernel records ------------------------------------------------------------------------

const adapters = new Map<string, string | undefined>();
function adapterOf(platform: string): string | undefined {
  if (!adapters.has(platform)) {
    let kind: string | undefined;
    try {
      kind = allDevicesOfAllBackends().find((d) => d.platform === platform)?.deviceKind;
    } catch {
      kind = undefined;
    }
    adapters.set(platform, kind);
  }
  return adapters.get(platform);
}

/** One compiled program as the kernels panel shows it. */
export function kernelProgramRecord(c: CompiledRecord): KernelProgramRecord {
  let truncated = c.kernels.length > INSPECT_LIMITS.steps;
  const steps = c.kernels.slice(0, INSPECT_LIMITS.steps).map((k, index): KernelStepInfo => {
    const src = k.source === null ? null : capText(k.source);
    if (src?.cut) truncated = true;
    const s: KernelStepInfo = {
      index, kind: k.kind, name: k.name, source: src ? src.text : null, language: sourceLanguage(k.source), ir: k.ir,
      eqns: [...k.eqnIndices], eqnText: [...k.eqns], launchShape: [...k.launchShape], elements: k.elements, timing: { ...k.timing },
    };
    if (k.note) s.note = k.note;
    return s;
  });
  const platform = c.platform ?? "cpu";
  const rec: KernelProgramRecord = {
    id: c.id, name: c.name, platform, source: sourceLine(c.source), counts: { ...c.counts }, eqnCount: c.after.jaxpr.eqns.length,
    peakTempBytes: c.peakTempBytes, compileMs: c.compileMs, calls: c.calls, cacheHit: c.cacheHit, timingOn: kernelTimingOn(), steps,
  };
  const adapter = adapterOf(platform);
  if (adapter) rec.adapter = adapter;
  const ctx = compiledRun.get(c);
  if (ctx) {
    rec.cell = ctx.cell;
    rec.runId = ctx.runId;
  }
  for (let i = traces.length - 1; i >= 0; i--)
    if (traces[i].record.jaxpr === c.before) {
      rec.irRecordId = traces[i].id;
      break;
    }
  if (truncated) rec.truncated = true;
  return rec;
}

/** Answer of `inspect/kernelRecords`. */
export function kernelRecords(p: InspectRecordsParams = {}): KernelRecordsResult {
  const all = inspectCompiled() as CompiledRecord[];
  return { records: selectRecords(all, p, (c) => c.source?.file ?? null).map(kernelProgramRecord), total: all.length };
}

// ---- gradient records ----------------------------------------------------------------------

/**
 * Statistics of one leaf's values in float64: l2 and mean over all elements (NaN when one is
 * NaN), min and max over the non-NaN ones, and a histogram of the finite ones over their range
 * (NumPy's [v - 0.5, v + 0.5] when they are all equal; no bins when none is finite).
 */
export function leafStats(data: ArrayLike<number>, bins: number = INSPECT_LIMITS.bins): GradLeafStats {
  const n = data.length;
  let sum = 0, sumSq = 0, zeros = 0, nans = 0, infs = 0;
  let min = Infinity, max = -Infinity, fmin = Infinity, fmax = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = +data[i];
    if (x !== x) {
      nans++;
      continue;
    }
    sum += x;
    sumSq += x * x;
    if (x === 0) zeros++;
    if (x < min) min = x;
    if (x > max) max = x;
    if (x === Infinity || x === -Infinity) infs++;
    else {
      if (x < fmin) fmin = x;
      if (x > fmax) fmax = x;
    }
  }
  const histogram = { edges: [] as number[], counts: [] as number[] };
  if (fmin <= fmax) {
    const lo = fmin === fmax ? fmin - 0.5 : fmin;
    const hi = fmin === fmax ? fmax + 0.5 : fmax;
    const counts = new Array<number>(bins).fill(0);
    const scale = bins / (hi - lo);
    for (let i = 0; i < n; i++) {
      const x = +data[i];
      if (!Number.isFinite(x)) continue;
      counts[Math.min(bins - 1, Math.floor((x - lo) * scale))]++;
    }
    histogram.counts = counts;
    histogram.edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
  }
  const empty = n === 0 || nans === n;
  return {
    l2: jsonNumber(nans ? NaN : Math.sqrt(sumSq)),
    min: jsonNumber(empty ? NaN : min),
    max: jsonNumber(empty ? NaN : max),
    mean: jsonNumber(nans || n === 0 ? NaN : sum / n),
    zeroFraction: n ? zeros / n : 0,
    nanCount: nans,
    infCount: infs,
    histogram,
  };
}

/**
 * The names of a function's parameters, from its source text (`(params, x) => ...`,
 * `function loss(params, x) {`); null where a parameter is destructured or has a default, so
 * that paths fall back to `args[i]` rather than guess.
 */
export function parameterNames(fn: Function): (string | null)[] {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn).slice(0, 4000);
  } catch {
    return [];
  }
  const single = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (single) return [single[1]];
  const open = src.indexOf("(");
  if (open < 0) return [];
  let depth = 0, end = -1;
  for (let i = open; i < src.length; i++) {
    const ch = src[i];
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") {
      if (--depth === 0) {
        end = i;
        break;
      }
    }
  }
  if (end < 0) return [];
  const parts: string[] = [];
  let cur = "";
  depth = 0;
  for (const ch of src.slice(open + 1, end)) {
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => {
    const m = /^\s*([A-Za-z_$][\w$]*)\s*$/.exec(p.replace(/\/\*.*?\*\//g, ""));
    return m ? m[1] : null;
  });
}

const keyPath = (k: string): string => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);

/**
 * The path of each leaf of the differentiated arguments (`inTree` is the list of them, one
 * entry per argnum), starting with the function's parameter name: `params[0].w`, `params.w1`.
 */
export function gradLeafPaths(fn: Function, inTree: PyTreeDef, argnums: readonly number[]): string[] {
  const names = parameterNames(fn);
  const out: string[] = [];
  const walk = (d: PyTreeDef, path: string): void => {
    switch (d._kind) {
      case "leaf": out.push(path); return;
      case "object": d._children.forEach((c, i) => walk(c, path + keyPath(d._keys[i]))); return;
      case "array":
      case "custom": d._children.forEach((c, i) => walk(c, `${path}[${i}]`)); return;
      default: return;
    }
  };
  inTree._children.forEach((c, k) => walk(c, names[argnums[k]] ?? `args[${argnums[k]}]`));
  return out;
}

interface GradEntry {
  id: number;
  fn: Function;
  kind: GradCall["kind"];
  name: string;
  where: LazySource;
  cell?: number;
  calls: number;
  last: GradCallInfo;
  history: GradHistoryPoint[];
  jaxpr: ClosedJaxpr;
}

const grads = new Map<Function, GradEntry>();
let nextGradId = 0;
let pendingReads = 0;
let lastRunId: string | undefined;

/**
 * Reads `x` on the host: now ("sync") when that does not wait for a device, else
 * asynchronously ("async": `done` then `after` run when the data arrives); otherwise says why
 * it is not read. `done` gets the data, or null and the reason.
 */
function readHost(x: NDArray, done: (data: ArrayLike<number> | null, why?: string) => void, after: () => void): "sync" | "async" | string {
  if (x instanceof Tracer) return "traced";
  if (x.size > INSPECT_LIMITS.statsElements) return `too large (${x.size} elements)`;
  if (x._disposed) return "disposed";
  if (x._hostReady()) {
    try {
      done(x.dataSync());
      return "sync";
    } catch (e) {
      return `not readable: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  if (pendingReads >= INSPECT_LIMITS.pendingReads) return "skipped: too many device reads pending";
  pendingReads++;
  x.data().then(
    (d) => done(d),
    (e) => done(null, `not readable: ${e instanceof Error ? e.message : String(e)}`),
  ).catch(() => {
    /* a failing statistic must not surface as the cell's unhandled rejection */
  }).finally(() => {
    pendingReads--;
    after();
  });
  return "async";
}

function recordGradCall(c: GradCall): void {
  const ctx = runContext();
  if (ctx) lastRunId = ctx.runId;
  let e = grads.get(c.fn);
  if (e) grads.delete(c.fn); // re-inserted last: the map is ordered by latest call
  const paths = gradLeafPaths(c.fn, c.inTree, c.argnums);
  const traced = c.value instanceof Tracer || c.grads.some((g) => g instanceof Tracer);
  const step = (e?.calls ?? 0) + 1;
  const call: GradCallInfo = { step, traced, leaves: [] };
  if (ctx) call.runId = ctx.runId;
  const point: GradHistoryPoint = { step, norms: [] };
  const n = Math.min(c.grads.length, INSPECT_LIMITS.leaves);
  let pending = 0;
  // The global norm only when every leaf has its statistics (no honest value otherwise).
  const settle = () => {
    if (pending > 0 || c.grads.length > n || call.leaves.some((l) => !l.stats)) return;
    const sq = call.leaves.reduce((a, l) => a + Number(l.stats!.l2) ** 2, 0);
    point.globalNorm = call.globalNorm = jsonNumber(Math.sqrt(sq));
  };
  for (let i = 0; i < n; i++) {
    const g = c.grads[i];
    const leaf: GradLeafInfo = { path: paths[i] ?? `leaf[${i}]`, shape: [...g.shape], dtype: g.dtype.name };
    call.leaves.push(leaf);
    point.norms.push(null);
    const how = readHost(g, (data, err) => {
      if (data) {
        leaf.stats = leafStats(data);
        delete leaf.missing;
        point.norms[i] = leaf.stats.l2;
      } else leaf.missing = err ?? "not readable";
    }, () => {
      pending--;
      settle();
    });
    if (how === "async") {
      pending++;
      leaf.missing = "pending device read";
    } else if (how !== "sync") leaf.missing = how;
  }
  settle();
  if (c.value.size === 1 && c.value.dtype.isFloat)
    readHost(c.value, (data) => {
      if (data) point.value = call.value = jsonNumber(+data[0]);
    }, () => {});
  if (!e) {
    e = { id: nextGradId++, fn: c.fn, kind: c.kind, name: c.fn.name || "<lambda>", where: captureSource(), calls: 0, last: call, history: [], jaxpr: c.jaxpr };
  }
  e.kind = c.kind;
  e.where = captureSource();
  e.cell = ctx?.cell;
  e.calls = step;
  e.last = call;
  e.jaxpr = c.jaxpr;
  e.history.push(point);
  if (e.history.length > INSPECT_LIMITS.history) e.history.splice(0, e.history.length - INSPECT_LIMITS.history);
  grads.set(c.fn, e);
  if (grads.size > INSPECT_LIMITS.gradFunctions) grads.delete(grads.keys().next().value as Function);
}

/** Answer of `inspect/gradientRecords`. */
export function gradientRecords(p: InspectRecordsParams = {}): GradientRecordsResult {
  // The map is ordered by latest call, newest last, as selectRecords expects (it walks from the end).
  const byCall = [...grads.values()];
  const picked = selectRecords(byCall, p, (e) => e.where()?.file ?? null);
  const records = picked.map((e): GradientRecord => {
    const r: GradientRecord = {
      id: e.id, kind: e.kind, name: e.name, source: sourceLine(e.where()), calls: e.calls,
      last: JSON.parse(JSON.stringify(e.last)) as GradCallInfo,
      history: e.history.map((h) => ({ ...h, norms: [...h.norms] })),
    };
    if (e.cell !== undefined) r.cell = e.cell;
    for (let i = traces.length - 1; i >= 0; i--)
      if (traces[i].record.jaxpr === e.jaxpr) {
        r.irRecordId = traces[i].id;
        break;
      }
    return r;
  });
  const out: GradientRecordsResult = { records, total: byCall.length };
  if (lastRunId !== undefined) out.lastRunId = lastRunId;
  return out;
}
