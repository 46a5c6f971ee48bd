// The inspector panels' data (issue 7): structured, JSON-safe records of what the tracer made of
// each function (IR panel, inspect-jaxpr.ts), of each differentiated function's gradients
// (gradients panel, inspect-grads.ts) and of each compiled program's kernels (kernels panel,
// here), answered by the inspect/*Records requests (types in kernel/protocol.ts). The text
// answers (inspect-text.ts) read the same trace store.
//
// Recording is a switch, off in the library and on in the kernel process: while it is off
// nothing here listens and tracing, grad and jit pay nothing. While it is on, every record is
// bounded (INSPECT_LIMITS), and a grad call inside a top-level jit makes the compiled step
// return the loss, the gradients and the inputs as extra outputs (transforms/taps.ts), so the
// gradients panel shows the values the program computed; that costs the step a few writes.

import { allDevicesOfAllBackends } from "../core/device";
import { onTrace } from "../ir/trace-log";
import { CompiledRecord, inspectCompiled, kernelTimingOn, onCompile, sourceLanguage } from "../lower/inspect";
import { onGradCall } from "../transforms/autodiff";
import { wantTaps } from "../transforms/taps";
import { InspectRecordsParams, KernelProgramRecord, KernelRecordsResult, KernelStepInfo } from "../protocol";
import { INSPECT_LIMITS, KeptTrace, RunContext, capText, selectRecords, sourceLine, store, traceIdOf } from "./inspect-common";
import { clearGradRecords, recordGradCall } from "./inspect-grads";

export { INSPECT_LIMITS, jsonNumber } from "./inspect-common";
export type { KeptTrace, RunContext } from "./inspect-common";
export { builtJaxpr, irRecords, jaxprInfo } from "./inspect-jaxpr";
export { checkGradsRecord, gradLeafPaths, gradientRecords, leafStats, parameterNames } from "./inspect-grads";

let recording = false;
let unsubscribe: (() => void)[] = [];
/** The run that compiled each program. */
const compiledRun = new WeakMap<CompiledRecord, RunContext>();

/**
 * Turns the recording of inspection records on or off (off by default; the kernel process
 * turns it on). `context` tells which cell run is in progress, to tag the records with it.
 * Turning it off keeps what was recorded.
 */
export function setInspectRecording(on: boolean, context?: () => RunContext | null): void {
  if (context) store.runContext = context;
  if (on === recording) return;
  recording = on;
  wantTaps(on);
  if (!on) {
    for (const u of unsubscribe) u();
    unsubscribe = [];
    return;
  }
  unsubscribe = [
    onTrace((record) => {
      const ctx = store.runContext();
      store.traces.push({ id: store.nextTraceId++, record, cell: ctx?.cell, runId: ctx?.runId });
      if (store.traces.length > INSPECT_LIMITS.traces) store.traces.splice(0, store.traces.length - INSPECT_LIMITS.traces);
    }),
    onCompile((r) => {
      const ctx = store.runContext();
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
  return store.traces;
}

/** Forgets the trace and gradient records (tests). */
export function clearInspectRecords(): void {
  store.traces.length = 0;
  clearGradRecords();
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
    const first = k.passes?.[0];
    if (first) {
      if (first.workgroupSize) s.workgroupSize = [...first.workgroupSize];
      if (first.dispatch) s.dispatch = [...first.dispatch];
      s.bindings = first.bindings.map((b) => ({ ...b }));
      if (k.passes!.length > 1) s.passes = k.passes!.map((q) => ({ ...q, bindings: q.bindings.map((b) => ({ ...b })) }));
    }
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
  const ir = traceIdOf(c.before);
  if (ir !== undefined) rec.irRecordId = ir;
  if (truncated) rec.truncated = true;
  return rec;
}

/** Answer of `inspect/kernelRecords`. */
export function kernelRecords(p: InspectRecordsParams = {}): KernelRecordsResult {
  const all = inspectCompiled() as CompiledRecord[];
  return { records: selectRecords(all, p, (c) => c.source?.file ?? null).map(kernelProgramRecord), total: all.length };
}
