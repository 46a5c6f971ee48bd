// Inspection records of compiled programs (DESIGN.md "Compilation"): for each program jit
// compiles, the jaxpr before and after passes, and per step (fused kernel, library call or
// alias) its generated source, the equations it computes, its launch shape and, when timing is
// on (PRIMAL_DEBUG >= 4, `setKernelTiming(true)`, `primal run --kernels`), its measured time.
// `primal run --kernels` prints them; the kernels panel (issue 7) reads the same records.

import { debugLevel } from "../core/debug";
import { Primitive } from "../core/primitive";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, SourceInfo, Var } from "../ir/jaxpr";
import { literalText, paramText, varName } from "../ir/printer";
import { LoweredProgram } from "./program";

/** One step of a compiled program, as the inspectors show it. */
export interface KernelRecord {
  kind: "kernel" | "library" | "alias";
  name: string;
  /** Generated source (fused kernels); null for library calls and aliases. */
  source: string | null;
  /** The scalar kernel IR as text (fused kernels). */
  ir: string | null;
  /** The equations computed, as jaxpr lines named like the printed `after` jaxpr. */
  eqns: string[];
  /** The same equations as indices into `after.jaxpr.eqns`. */
  eqnIndices: number[];
  /** Loop extents after coalescing (fused kernels) or the output shape (library calls). */
  launchShape: number[];
  /** Points of the loop nest (or output elements). */
  elements: number;
  /** Measured time, when timing is on. */
  timing: { calls: number; totalMs: number; lastMs: number };
  /** What the backend made of the step when that is worth saying (a GEMM variant, a host fallback and why). */
  note?: string;
  /** The device passes that run the step (WebGPU: one per shader dispatch), with the buffers each binds. */
  passes?: KernelPass[];
}

/** One dispatch of a step: its workgroup size and counts (WebGPU) and the buffers it binds. */
export interface KernelPass {
  workgroupSize?: number[];
  dispatch?: number[];
  bindings: { binding: number; name: string; access: "read" | "write" | "read_write" | "uniform"; aval?: string; bytes?: number }[];
}

/** A compiled program. */
export interface CompiledRecord {
  id: number;
  /** The jitted function's name (from the trace log), or "jit" for derived programs. */
  name: string;
  source: SourceInfo | null;
  before: ClosedJaxpr;
  after: ClosedJaxpr;
  kernels: KernelRecord[];
  /** Fused kernels / library calls. */
  counts: { kernels: number; library: number; aliases: number };
  /** Largest total size of intermediate buffers alive at once (bytes). */
  peakTempBytes: number;
  compileMs: number;
  /** Calls so far. */
  calls: number;
  /** The platform the program was prepared for ("cpu", "webgpu"). */
  platform?: string;
  /**
   * Whether the lowered program came from the compile cache (jit-runner.ts): "traced" (passes
   * and lowering skipped), "optimized" (lowering skipped), or null when lowered afresh.
   */
  cacheHit: "traced" | "optimized" | null;
}

const records: CompiledRecord[] = [];
const MAX_RECORDS = 256;
const listeners = new Set<(r: CompiledRecord) => void>();
let nextId = 0;
let timingRequested = 0;

/** The records of the programs compiled so far (the latest MAX_RECORDS), oldest first. */
export function inspectCompiled(): readonly CompiledRecord[] {
  return records;
}

/** Subscribes to newly compiled programs; returns the unsubscribe function. */
export function onCompile(fn: (r: CompiledRecord) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Turns per-kernel timing on or off (nested: each `true` needs its `false`). */
export function setKernelTiming(on: boolean): void {
  timingRequested = Math.max(0, timingRequested + (on ? 1 : -1));
}

/** Whether compiled programs measure each step now. */
export function kernelTimingOn(): boolean {
  return timingRequested > 0 || debugLevel() >= 4;
}

/** Forgets the records (tests). */
export function clearCompiled(): void {
  records.length = 0;
}

/**
 * Builds and announces the record of a freshly compiled program. The text of each step's
 * equations and kernel IR, and the source location (when given as a function), are made when
 * first read: an inspector or `--kernels` asks for them, a first jit call (in a cold process)
 * does not wait for them.
 */
export function recordCompiled(
  p: LoweredProgram, name: string, source: SourceInfo | null | (() => SourceInfo | null), compileMs: number, irText: (k: number) => string | null,
): CompiledRecord {
  let names: Map<Var, string> | null = null;
  const eqnText = (i: number) => eqnLine(p.after.jaxpr.eqns[i], (names ??= printedNames(p.after.jaxpr)));
  const kernels = p.steps.map((s, i): KernelRecord => {
    const outShape = s.kind === "library" ? (p.after.jaxpr.eqns[s.eqns[0]].outVars[0]?.aval.shape ?? []) : p.buffers[s.out].aval.shape;
    const launch = s.kind === "kernel" ? s.kernel.shape : [...outShape];
    const k = {
      kind: s.kind,
      name: s.name,
      source: s.kind === "kernel" ? s.source : null,
      eqnIndices: [...s.eqns],
      launchShape: launch,
      elements: launch.reduce((a, b) => a * b, 1),
      timing: { calls: 0, totalMs: 0, lastMs: 0 },
    } as KernelRecord;
    // The CPU's generated function takes the output buffer(s), then the inputs.
    if (s.kind !== "alias") {
      const outs = s.kind === "kernel" ? [p.buffers[s.out].aval] : p.after.jaxpr.eqns[s.eqns[0]].outVars.map((v) => v.aval);
      const ins = s.ins.map((x) => (typeof x === "number" ? p.buffers[x].aval : x.aval));
      k.passes = [{
        bindings: [
          ...outs.map((a, j) => ({ binding: j, name: outs.length > 1 ? `out${j}` : "out", access: "write" as const, aval: a.str(), bytes: a.size * a.dtype.itemsize })),
          ...ins.map((a, j) => ({ binding: outs.length + j, name: `in${j}`, access: "read" as const, aval: a.str(), bytes: a.size * a.dtype.itemsize })),
        ],
      }];
    }
    lazyField(k, "ir", () => (s.kind === "kernel" ? irText(i) : null));
    lazyField(k, "eqns", () => s.eqns.map(eqnText));
    return k;
  });
  const rec: CompiledRecord = {
    id: nextId++,
    name,
    source: null,
    before: p.before,
    after: p.after,
    kernels,
    counts: {
      kernels: p.steps.filter((s) => s.kind === "kernel").length,
      library: p.steps.filter((s) => s.kind === "library").length,
      aliases: p.steps.filter((s) => s.kind === "alias").length,
    },
    peakTempBytes: p.peakTempBytes,
    compileMs,
    calls: 0,
    cacheHit: null,
  };
  if (typeof source === "function") lazyField(rec, "source", source);
  else rec.source = source;
  records.push(rec);
  if (records.length > MAX_RECORDS) records.splice(0, records.length - MAX_RECORDS);
  for (const l of listeners) l(rec);
  return rec;
}

/** A record as text: what `primal run --kernels` prints (its heading, then its steps). */
export function formatCompiled(r: CompiledRecord, where = ""): string {
  return `${compiledHeading(r.name, where, r.platform && r.platform !== "cpu" ? r.platform : null)}\n${formatCompiledSteps(r)}`;
}

/**
 * The heading of a record's text: `--- kernels of jit(name) (file:line) on webgpu ---`. `where`
 * is the source part, already formatted; `on` names the platform (not said for the CPU) or,
 * for a program a CPU device's thread compiled, its device ("cpu:1").
 */
export function compiledHeading(name: string, where: string, on: string | null): string {
  return `--- kernels of jit(${name})${where}${on ? ` on ${on}` : ""} ---`;
}

/**
 * A record's text below its heading: the counts, then each step with its equations and source.
 * A CPU device's thread formats its own records with it (kernel/cpu-device-thread.ts), since
 * only the main thread knows the line that called the pmap the heading names.
 */
export function formatCompiledSteps(r: CompiledRecord): string {
  const lines: string[] = [];
  lines.push(
    `${r.counts.kernels} fused kernel(s), ${r.counts.library} library call(s)${r.counts.aliases ? `, ${r.counts.aliases} alias(es)` : ""}; ` +
      `${r.after.jaxpr.eqns.length} equations; peak intermediate memory ${fmtBytes(r.peakTempBytes)}; compiled in ${r.compileMs.toFixed(2)} ms`,
  );
  r.kernels.forEach((k, i) => {
    const t = k.timing.calls ? `, ${(k.timing.totalMs / k.timing.calls).toFixed(3)} ms/call over ${k.timing.calls} call(s)` : "";
    lines.push(`[${i}] ${k.kind} ${k.name}: launch [${k.launchShape.join(", ")}] (${k.elements} elements)${t}`);
    for (const e of k.eqns) lines.push(`    ${e}`);
    if (k.note) lines.push(`    (${k.note})`);
    if (k.source) lines.push(k.source.trimEnd().replace(/^/gm, "    | "));
  });
  return lines.join("\n") + "\n";
}

/**
 * The language of a step's source, for highlighting. The backends put what runs there: WGSL
 * shaders (they have a `@compute` entry point), WebAssembly listings (WAT-like, `;;` comments
 * first) or JS kernels (the default codegen).
 */
export function sourceLanguage(source: string | null): "wgsl" | "javascript" | "wat" | null {
  if (source === null) return null;
  if (/^\s*(;;|\(module)/.test(source)) return "wat";
  if (/@compute\b/.test(source)) return "wgsl";
  return "javascript";
}

/** An enumerable property computed on first read (then an ordinary data property). */
function lazyField<T extends object, K extends keyof T>(o: T, key: K, make: () => T[K]): void {
  Object.defineProperty(o, key, {
    get: () => {
      const v = make();
      Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
      return v;
    },
    enumerable: true,
    configurable: true,
  });
}

function fmtBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/**
 * The names the jaxpr printer gives the variables (kernel/ir/printer.ts): in order of first
 * appearance, outputs of an equation before the jaxprs in its parameters, nested jit bodies
 * aliased to the outer names.
 */
function printedNames(j: Jaxpr): Map<Var, string> {
  const names = new Map<Var, string>();
  let count = 0;
  const name = (v: Var): string => {
    if (v instanceof DropVar) return "_";
    let s = names.get(v);
    if (s === undefined) names.set(v, (s = varName(count++)));
    return s;
  };
  const walk = (jj: Jaxpr): void => {
    jj.constvars.forEach(name);
    jj.invars.forEach(name);
    for (const e of jj.eqns) {
      e.outVars.forEach(name);
      const params = e.primitive.printParams ? e.primitive.printParams(e.params) : e.params;
      const keys = e.primitive.printParams ? Object.keys(params) : Object.keys(params).sort();
      for (const k of keys) {
        const v = params[k];
        const nested = v instanceof Jaxpr || v instanceof ClosedJaxpr ? [v] : Array.isArray(v) && v.length > 0 && v.every((x) => x instanceof Jaxpr || x instanceof ClosedJaxpr) ? v : [];
        for (const x of nested as (Jaxpr | ClosedJaxpr)[]) {
          const inner = x instanceof ClosedJaxpr ? x.jaxpr : x;
          if (e.primitive.aliasNestedNames) {
            inner.invars.forEach((iv, i) => {
              const a = e.inputs[i];
              if (a instanceof Var && !(iv instanceof DropVar)) names.set(iv, name(a));
            });
            inner.outvars.forEach((ov, i) => ov instanceof Var && !(ov instanceof DropVar) && !(e.outVars[i] instanceof DropVar) && names.set(ov, name(e.outVars[i])));
          }
          walk(inner);
        }
      }
      e.inputs.forEach((a) => a instanceof Var && name(a));
    }
    jj.outvars.forEach((a) => a instanceof Var && name(a));
  };
  walk(j);
  return names;
}

function eqnLine(e: JaxprEqn, names: Map<Var, string>): string {
  const atom = (a: Atom) => (a instanceof Literal ? `${literalText(a.value, a.aval.dtype)}:${a.aval.str()}` : (names.get(a) ?? "?"));
  const lhs = e.outVars.map((v) => `${v instanceof DropVar ? "_" : (names.get(v) ?? "?")}:${v.aval.str()}`).join(" ");
  const params = e.primitive.printParams ? e.primitive.printParams(e.params) : e.params;
  const shown = Object.keys(params)
    .sort()
    .filter((k) => !(params[k] instanceof Jaxpr || params[k] instanceof ClosedJaxpr))
    .map((k) => `${k}=${paramText(params[k])}`);
  return `${lhs} = ${primName(e.primitive)}${shown.length ? `[${shown.join(" ")}]` : ""} ${e.inputs.map(atom).join(" ")}`.trimEnd();
}

const primName = (p: Primitive) => p.name;
