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
//
// The kernels panel also lists the programs the CPU devices' own threads compiled (a pmap's
// programs, inspect-devices.ts), merged with this process's by compile time.

import { allDevicesOfAllBackends } from "../core/device";
import { onTrace } from "../ir/trace-log";
import { CompiledRecord, inspectCompiled, kernelTimingOn, onCompile, sourceLanguage } from "../lower/inspect";
import { onGradCall } from "../transforms/autodiff";
import { wantTaps } from "../transforms/taps";
import { InspectRecordsParams, KernelProgramRecord, KernelRecordsResult, KernelStepInfo } from "../protocol";
import { INSPECT_LIMITS, KeptTrace, RunContext, capText, selectRecords, sourceLine, store, traceIdOf } from "./inspect-common";
import { DEVICE_RECORD_IDS, DeviceRecordEntry, deviceKernelRecords, linkSegment } from "./inspect-devices";
import { clearGradRecords, recordGradCall } from "./inspect-grads";

export { INSPECT_LIMITS, jsonNumber } from "./inspect-common";
export type { KeptTrace, RunContext } from "./inspect-common";
export { builtJaxpr, irRecords, jaxprInfo } from "./inspect-jaxpr";
export { checkGradsRecord, gradLeafPaths, gradientRecords, leafStats, parameterNames } from "./inspect-grads";

let recording = false;
let unsubscribe: (() => void)[] = [];
/** The run that compiled each program. */
const compiledRun = new WeakMap<CompiledRecord, RunContext>();
/** When each program was compiled (ms since the epoch), to order them among the device threads' programs. */
const compiledAt = new WeakMap<CompiledRecord, number>();

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
      compiledAt.set(r, performance.timeOrigin + performance.now());
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
  // A program cut from a pmap body (a one-device pmap compiles its programs here).
  else linkSegment(rec, c.before);
  if (truncated) rec.truncated = true;
  return rec;
}

/**
 * Answer of `inspect/kernelRecords`: this process's compiled programs and, when device threads
 * were started, theirs (one record per device, `device` set), newest first. Programs compiled
 * before recording was turned on count as the oldest.
 */
export function kernelRecords(p: InspectRecordsParams = {}): KernelRecordsResult {
  const all = inspectCompiled() as CompiledRecord[];
  const fileOf = (c: CompiledRecord) => c.source?.file ?? null;
  // Only ids of this process's records asked for: the threads have nothing to add.
  const threads = p.ids && !p.ids.some((id) => id >= DEVICE_RECORD_IDS) ? null : deviceKernelRecords(p);
  if (!threads) return { records: selectRecords(all, p, fileOf).map(kernelProgramRecord), total: all.length };
  type Entry = { id: number; at: number; device: number; file: string | null; record: () => KernelProgramRecord };
  const own = all.map((c): Entry => ({ id: c.id, at: compiledAt.get(c) ?? 0, device: -1, get file() { return fileOf(c); }, record: () => kernelProgramRecord(c) }));
  const theirs = threads.entries.map((e: DeviceRecordEntry): Entry => ({ id: e.rec.id, at: e.at, device: e.device, file: e.rec.source?.file ?? null, record: () => e.rec }));
  // Oldest first (selectRecords picks from the end): by compile time, a program's devices in
  // descending order so that they come out in ascending order; a stable sort keeps each log's order.
  const merged = [...own, ...theirs].sort((a, b) => a.at - b.at || b.device - a.device);
  return { records: selectRecords(merged, p, (e) => e.file).map((e) => e.record()), total: all.length + threads.total };
}
