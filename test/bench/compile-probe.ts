// Evidence that Primal's "jitted" rows ran compiled code: the benchmark watches the compiler's
// inspection records (kernel/lower/inspect.ts) while a jitted function is first called, and
// afterwards reads how often the compiled program ran. A jitted function whose program the
// compiler declined runs primitive by primitive, and the report then says "interpreted"
// instead of quietly presenting interpreter numbers as compiled ones.

import { setCompileEnabled } from "../../kernel/lower/jit-runner";
import { CompiledRecord, onCompile } from "../../kernel/lower/inspect";

/** What the compiler made of one jitted function. */
export interface CompileInfo {
  /** Programs compiled while probing (0: the function runs interpreted). */
  programs: number;
  kernels: number;
  library: number;
  compileMs: number;
  /** Runs of those programs so far (read again after timing). */
  calls(): number;
  /** The inspection records themselves (the WebGPU bench reads which steps ran on the host). */
  records: CompiledRecord[];
}

/** Runs `fn` (the first call of a fresh jitted function) and collects the programs it compiled. */
export async function probeCompile<T>(fn: () => Promise<T>): Promise<{ value: T; info: CompileInfo }> {
  const seen: CompiledRecord[] = [];
  const off = onCompile((r) => seen.push(r));
  let value: T;
  try {
    value = await fn();
  } finally {
    off();
  }
  const sum = (f: (r: CompiledRecord) => number) => seen.reduce((s, r) => s + f(r), 0);
  return {
    value,
    info: {
      programs: seen.length,
      kernels: sum((r) => r.counts.kernels),
      library: sum((r) => r.counts.library),
      compileMs: sum((r) => r.compileMs),
      calls: () => sum((r) => r.calls),
      records: seen,
    },
  };
}

/** One line for the report: how a jitted row ran. */
export function describeCompile(info: CompileInfo | null): string {
  if (!info) return "n/a";
  if (info.programs === 0) return "interpreted (not compiled)";
  return `${info.programs} program(s): ${info.kernels} fused kernel(s) + ${info.library} library call(s), compiled in ${info.compileMs.toFixed(1)} ms, ran ${info.calls()}×`;
}

/** Runs `fn` with Primal's compiler off: jitted programs then run primitive by primitive (PRIMAL_COMPILE=0). */
export async function withCompilerOff<T>(fn: () => Promise<T>): Promise<T> {
  setCompileEnabled(false);
  try {
    return await fn();
  } finally {
    setCompileEnabled(process.env.PRIMAL_COMPILE !== "0");
  }
}
