// jit as a compiler: the executor `runJitted` calls for every jitted program on concrete
// arrays (kernel/transforms/jit.ts). A program is compiled once per ClosedJaxpr (jit caches
// one per argument signature, so once per signature): optimised by the passes of
// kernel/ir/passes.ts, lowered to fused kernels (program.ts), prepared by the backend that
// registered itself (kernel/backends/cpu/compiled.ts), and recorded for the inspectors
// (inspect.ts). Whatever the lowering or the backend cannot handle runs as before, primitive
// by primitive (evalClosedJaxpr), with a line at PRIMAL_DEBUG=3 saying why.
// PRIMAL_COMPILE=0 (or `setCompileEnabled(false)`) turns compilation off.
//
// Lowered programs are also cached by structure across jitted functions (program-cache.ts):
// a fresh jit of a function with the same operations on the same avals skips the passes and
// the lowering, and only the backend's (cached) preparation and a record of its own remain.
// PRIMAL_COMPILE_CACHE=0 (or `setProgramCacheEnabled(false)`) turns that cache off.

import { debugLog } from "../core/debug";
import { defaultDevice } from "../core/device";
import { NDArray } from "../core/ndarray";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { ClosedJaxpr, SourceInfo } from "../ir/jaxpr";
import { OptimizeRecord, optimize } from "../ir/passes";
import { structuralKey } from "../ir/structural-key";
import { onTrace } from "../ir/trace-log";
import { _setJitRunner } from "../transforms/jit";
import { CompiledRecord, recordCompiled } from "./inspect";
import { printKernel } from "./kernel-ir";
import { LoweredProgram, lowerProgram } from "./program";
import { ProgramCache } from "./program-cache";

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

/** The executor of each platform that compiles ("cpu", "webgpu"). */
const executors = new Map<string, ProgramExecutor>();
let enabled = process.env.PRIMAL_COMPILE !== "0";
/** Compiled programs by jaxpr, per platform. */
const cache = new WeakMap<ClosedJaxpr, Map<string, Compiled | null>>();
let cacheEnabled = process.env.PRIMAL_COMPILE_CACHE !== "0";
/** Lowered programs by the structure of the traced program (small constants by value). */
const tracedPrograms = new ProgramCache("traced", 256, true);
/** Lowered programs by the structure of the optimised program (constants by aval). */
const optimizedPrograms = new ProgramCache("optimized", 256, false);
/** Passes' records, by compiled program (the inspection record's "passes" part). */
const passRecords = new WeakMap<CompiledRecord, OptimizeRecord>();

// Names and call sites of jitted functions, from the trace log (derived programs, such as the
// jvp or vmap of a jitted body, have none: they are shown as "jit").
// The record's source is read when the compiled record's is (formatting a stack is not free).
const traced = new WeakMap<ClosedJaxpr, { name: string; readonly source: SourceInfo | null }>();
onTrace((r) => {
  if (r.kind === "jit") traced.set(r.jaxpr, r);
});

/** Installs a backend's executor and makes every jit call on its devices run compiled. */
export function installCompiler(exec: ProgramExecutor, platform = "cpu"): void {
  executors.set(platform, exec);
  _setJitRunner(runCompiled);
}

/** The platform a call runs on, as evalPrimitive chooses devices: committed arguments first, then any argument, else the default device. */
function platformOf(args: NDArray[]): string {
  let first: string | null = null;
  for (const a of args) {
    const b = a._buffer;
    if (!b) continue;
    if (a._committed) return b.device.platform;
    first ??= b.device.platform;
  }
  return first ?? defaultDevice().platform;
}

/** Turns compilation on or off (off: jitted programs run primitive by primitive). */
export function setCompileEnabled(on: boolean): void {
  enabled = on;
}

export function compileEnabled(): boolean {
  return enabled && executors.size > 0;
}

/** Turns the cache of lowered programs across jitted functions on or off; returns the previous setting. */
export function setProgramCacheEnabled(on: boolean): boolean {
  const was = cacheEnabled;
  cacheEnabled = on;
  return was;
}

/** Empties the cache of lowered programs (tests, benchmarks of cold compiles). */
export function clearProgramCache(): void {
  tracedPrograms.clear();
  optimizedPrograms.clear();
}

/** Hits and misses of the two levels of the program cache, and their sizes. */
export function programCacheStats(): Record<"traced" | "optimized", { hits: number; misses: number; size: number }> {
  const of = (c: ProgramCache) => ({ hits: c.hits, misses: c.misses, size: c.size });
  return { traced: of(tracedPrograms), optimized: of(optimizedPrograms) };
}

/** What `optimize` did for a compiled program. */
export function passesOf(r: CompiledRecord): OptimizeRecord | undefined {
  return passRecords.get(r);
}

/** The jit executor: compiled when possible, interpreted otherwise; `name` names a program traced elsewhere (a pmap's program, one sent to a device thread). */
export function runCompiled(cj: ClosedJaxpr, args: NDArray[], name?: string): NDArray[] {
  if (!enabled) return evalClosedJaxpr(cj, args);
  const platform = platformOf(args);
  if (!executors.has(platform)) return evalClosedJaxpr(cj, args);
  let per = cache.get(cj);
  if (!per) cache.set(cj, (per = new Map()));
  let c = per.get(platform);
  if (c === undefined) {
    c = compile(cj, platform, name);
    per.set(platform, c);
  }
  if (c === null) return evalClosedJaxpr(cj, args);
  return c.run(args) ?? evalClosedJaxpr(cj, args);
}

/** Compiles `cj` (or explains at PRIMAL_DEBUG=3 why not, and returns null); named after its jit's trace, else `given`. */
export function compile(cj: ClosedJaxpr, platform = "cpu", given?: string): Compiled | null {
  const executor = executors.get(platform);
  if (!executor) return null;
  const info = traced.get(cj);
  const name = info?.name ?? given ?? "jit";
  const t0 = performance.now();
  try {
    const { program: p, passes, hit } = lowered(cj);
    const kernelIr = (i: number) => {
      const s = p.steps[i];
      return s.kind === "kernel" ? printKernel(s.kernel) : null;
    };
    const record = recordCompiled(p, name, () => info?.source ?? null, 0, kernelIr);
    passRecords.set(record, passes);
    record.platform = platform;
    record.cacheHit = hit;
    const run = executor.prepare(p, record);
    record.compileMs = performance.now() - t0;
    debugLog(3, "compile", `jit(${name}): ${record.counts.kernels} fused kernel(s), ${record.counts.library} library call(s) for ${p.after.jaxpr.eqns.length} equations, in ${record.compileMs.toFixed(2)} ms${hit ? ` (lowered program reused: same ${hit} program)` : ""}`);
    for (const s of p.steps) if (s.kind === "kernel") debugLog(3, "kernel", `jit(${name}) ${s.name}:\n${s.source}`);
    return { run, record, passes };
  } catch (e) {
    debugLog(3, "compile", `jit(${name}): not compiled, runs primitive by primitive (${e instanceof Error ? e.message : String(e)})`);
    return null;
  }
}

/**
 * The lowered program of `cj` with the passes' record: from the cache of lowered programs when
 * a program of the same structure was lowered before (`hit` says at which level), else
 * optimised and lowered now (and cached).
 */
function lowered(cj: ClosedJaxpr): { program: LoweredProgram; passes: OptimizeRecord; hit: "traced" | "optimized" | null } {
  if (!cacheEnabled) {
    const { jaxpr: optimized, record: passes } = optimize(cj);
    return { program: lowerProgram(cj, optimized), passes, hit: null };
  }
  const tracedKey = structuralKey(cj, "values");
  const t = tracedKey === null ? null : tracedPrograms.get(tracedKey, cj, cj);
  if (t) return { ...t, hit: "traced" };
  const { jaxpr: optimized, record: passes } = optimize(cj);
  const optimizedKey = structuralKey(optimized, "avals")!;
  const o = optimizedPrograms.get(optimizedKey, optimized, cj);
  const program = o?.program ?? lowerProgram(cj, optimized);
  if (!o) optimizedPrograms.put(optimizedKey, optimized, program, passes);
  if (tracedKey !== null) tracedPrograms.put(tracedKey, cj, program, passes);
  return { program, passes, hit: o ? "optimized" : null };
}

/** The compiled record of a jitted program, compiling it if needed (tests, inspectors); null when it is interpreted. */
export function compiledRecordOf(cj: ClosedJaxpr, platform = defaultDevice().platform): CompiledRecord | null {
  let per = cache.get(cj);
  if (!per) cache.set(cj, (per = new Map()));
  let c = per.get(platform);
  if (c === undefined) {
    if (!executors.has(platform)) return null;
    c = compile(cj, platform);
    per.set(platform, c);
  }
  return c?.record ?? null;
}
