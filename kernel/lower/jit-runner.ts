// jit as a compiler: the executor `runJitted` calls for every jitted program on concrete
// arrays (kernel/transforms/jit.ts). A program is compiled once per ClosedJaxpr (jit caches
// one per argument signature, so once per signature): optimised by the passes of
// kernel/ir/passes.ts, lowered to fused kernels (program.ts), prepared by the backend that
// registered itself (kernel/backends/cpu/compiled.ts), and recorded for the inspectors
// (inspect.ts). Whatever the lowering or the backend cannot handle runs as before, primitive
// by primitive (evalClosedJaxpr), with a line at PRIMAL_DEBUG=3 saying why.
// PRIMAL_COMPILE=0 (or `setCompileEnabled(false)`) turns compilation off.

import { debugLog } from "../core/debug";
import { NDArray } from "../core/ndarray";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { ClosedJaxpr, SourceInfo } from "../ir/jaxpr";
import { OptimizeRecord, optimize } from "../ir/passes";
import { onTrace } from "../ir/trace-log";
import { _setJitRunner } from "../transforms/jit";
import { CompiledRecord, recordCompiled } from "./inspect";
import { printKernel } from "./kernel-ir";
import { LoweredProgram, lowerProgram } from "./program";

/** A prepared program: runs it on the arguments, or returns null when it cannot (then the program is interpreted). */
export type Executable = (args: NDArray[]) => NDArray[] | null;

/** What a backend provides: turning a lowered program into an executable. */
export interface ProgramExecutor {
  prepare(p: LoweredProgram, record: CompiledRecord): Executable;
}

interface Compiled {
  run: Executable;
  record: CompiledRecord;
  passes: OptimizeRecord | null;
}

let executor: ProgramExecutor | null = null;
let enabled = process.env.PRIMAL_COMPILE !== "0";
const cache = new WeakMap<ClosedJaxpr, Compiled | null>();
/** Passes' records, by compiled program (the inspection record's "passes" part). */
const passRecords = new WeakMap<CompiledRecord, OptimizeRecord>();

// Names and call sites of jitted functions, from the trace log (derived programs, such as the
// jvp or vmap of a jitted body, have none: they are shown as "jit").
const traced = new WeakMap<ClosedJaxpr, { name: string; source: SourceInfo | null }>();
onTrace((r) => {
  if (r.kind === "jit") traced.set(r.jaxpr, { name: r.name, source: r.source });
});

/** Installs the backend's executor and makes every jit call run compiled. */
export function installCompiler(exec: ProgramExecutor): void {
  executor = exec;
  _setJitRunner(runCompiled);
}

/** Turns compilation on or off (off: jitted programs run primitive by primitive). */
export function setCompileEnabled(on: boolean): void {
  enabled = on;
}

export function compileEnabled(): boolean {
  return enabled && executor !== null;
}

/** What `optimize` did for a compiled program. */
export function passesOf(r: CompiledRecord): OptimizeRecord | undefined {
  return passRecords.get(r);
}

/** The jit executor: compiled when possible, interpreted otherwise. */
export function runCompiled(cj: ClosedJaxpr, args: NDArray[]): NDArray[] {
  if (!enabled || !executor) return evalClosedJaxpr(cj, args);
  let c = cache.get(cj);
  if (c === undefined) {
    c = compile(cj);
    cache.set(cj, c);
  }
  if (c === null) return evalClosedJaxpr(cj, args);
  return c.run(args) ?? evalClosedJaxpr(cj, args);
}

/** Compiles `cj` (or explains at PRIMAL_DEBUG=3 why not, and returns null). */
export function compile(cj: ClosedJaxpr): Compiled | null {
  const info = traced.get(cj);
  const name = info?.name ?? "jit";
  const t0 = performance.now();
  try {
    const { jaxpr: optimized, record: passes } = optimize(cj);
    const p = lowerProgram(cj, optimized);
    const kernelIr = (i: number) => {
      const s = p.steps[i];
      return s.kind === "kernel" ? printKernel(s.kernel) : null;
    };
    const record = recordCompiled(p, name, info?.source ?? null, 0, kernelIr);
    passRecords.set(record, passes);
    const run = executor!.prepare(p, record);
    record.compileMs = performance.now() - t0;
    debugLog(3, "compile", `jit(${name}): ${record.counts.kernels} fused kernel(s), ${record.counts.library} library call(s) for ${p.after.jaxpr.eqns.length} equations, in ${record.compileMs.toFixed(2)} ms`);
    for (const s of p.steps) if (s.kind === "kernel") debugLog(3, "kernel", `jit(${name}) ${s.name}:\n${s.source}`);
    return { run, record, passes };
  } catch (e) {
    debugLog(3, "compile", `jit(${name}): not compiled, runs primitive by primitive (${e instanceof Error ? e.message : String(e)})`);
    return null;
  }
}

/** The compiled record of a jitted program, compiling it if needed (tests, inspectors); null when it is interpreted. */
export function compiledRecordOf(cj: ClosedJaxpr): CompiledRecord | null {
  let c = cache.get(cj);
  if (c === undefined) {
    if (!executor) return null;
    c = compile(cj);
    cache.set(cj, c);
  }
  return c?.record ?? null;
}
