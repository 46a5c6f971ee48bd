// The kernel's answers to inspect/jaxprs, inspect/gradients and inspect/kernels as text, until
// the inspector panels (issue 7) render the same records: every function traced by jit or pmap
// (a pmap's per-device program) and the linear program behind every grad (newest first, with
// the jaxpr after the compiler's passes for jitted ones), and every compiled program's kernels,
// as `primal run --ir` / `--kernels` print them. The records are kept from the moment the
// kernel starts (inspect-records.ts keeps the latest 200 traces; the structured forms of the
// same records are in that file).
//
// inspect/kernels also lists the programs the CPU devices' threads compiled (a pmap's programs,
// inspect-devices.ts), each headed with its device (`--- kernels of jit(f) (cell.ts:4) on cpu:1
// ---`), merged with this process's by compile time, newest first, a program's devices together
// as in the kernels panel. This process's programs compiled before keepTraceRecords was called
// count as the oldest.

import { CompiledRecord, formatCompiled, inspectCompiled, onCompile } from "../lower/inspect";
import { InspectParams, InspectResult } from "../protocol";
import { byCompileTime, deviceKernelText, deviceKernelTexts } from "./inspect-devices";
import { describePmap, shownProgram } from "./inspect-jaxpr";
import { keptTraces, setInspectRecording } from "./inspect-records";

/** When each of this process's programs was compiled (ms since the epoch), to order them among the device threads'. */
const compiledAt = new WeakMap<CompiledRecord, number>();
let notingCompileTimes = false;

/** Starts keeping trace records (turns the inspection recording on: inspect-records.ts keeps them), and noting when programs compile. */
export function keepTraceRecords(): void {
  setInspectRecording(true);
  if (notingCompileTimes) return;
  notingCompileTimes = true;
  onCompile((r) => compiledAt.set(r, performance.timeOrigin + performance.now()));
}

const where = (s: { file: string; line: number } | null, file?: string): string => {
  if (!s) return "";
  const f = file && s.file === file ? s.file.split(/[\\/]/).pop() : s.file;
  return ` (${f}:${s.line})`;
};

/** The records of one kind as text; `file` narrows to what that file's cells traced or compiled. */
export function inspectText(kind: "jaxprs" | "gradients" | "kernels", p: InspectParams = {}): InspectResult {
  const inFile = (s: { file: string } | null) => !p.file || (s !== null && s.file === p.file);
  if (kind === "kernels") {
    const own = inspectCompiled()
      .filter((r) => inFile(r.source))
      .map((r) => ({ at: compiledAt.get(r) ?? 0, device: -1, text: () => formatCompiled(r, where(r.source, p.file)) }));
    const theirs = deviceKernelTexts()
      .filter((e) => inFile(e.source))
      .map((e) => ({ at: e.at, device: e.device.id, text: () => deviceKernelText(e, where(e.source, p.file)) }));
    const recs = byCompileTime([...own, ...theirs], true);
    const text = recs.map((r) => r.text()).join("\n");
    return { count: recs.length, text: text || "No program has been compiled yet: call a jitted function in a cell (and turn JIT on)." };
  }
  const want = kind === "jaxprs" ? ["jit", "pmap"] : ["grad"];
  const recs = keptTraces().map((t) => t.record).filter((r) => want.includes(r.kind) && inFile(r.source)).reverse();
  const compiled = new Map(inspectCompiled().map((c) => [c.before, c]));
  const text = recs
    .map((r) => {
      const at = where(r.source, p.file);
      const title =
        r.kind === "pmap"
          ? `per-device program of pmap(${r.name})${at}${r.pmap ? `: ${describePmap(r.pmap)}` : ""}`
          : `${kind === "jaxprs" ? "jaxpr of jit" : "linear program of grad"}(${r.name})${at}`;
      const head = `--- ${title} ---\n${String(r.kind === "pmap" ? shownProgram(r) : r.jaxpr)}`;
      const c = compiled.get(r.jaxpr);
      return c ? `${head}\n--- after the compiler's passes ---\n${String(c.after)}\n` : `${head}\n`;
    })
    .join("\n");
  const none = kind === "jaxprs" ? "No function has been traced by jit or pmap yet." : "No gradient has been taken yet.";
  return { count: recs.length, text: text || none };
}
