// State and helpers shared by the inspector records (inspect-records.ts, inspect-jaxpr.ts,
// inspect-grads.ts): the caps that keep the records bounded, the run in progress, the kept
// trace log, and the conversions to the protocol's JSON-safe forms.

import { ShapedArray } from "../core/aval";
import { SourceInfo } from "../ir/jaxpr";
import { TraceRecord } from "../ir/trace-log";
import { AvalInfo, InspectRecordsParams, JsonNumber, SourceLine } from "../protocol";

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

/** The run in progress (set by setInspectRecording) and the kept trace records, oldest first. */
export const store = {
  runContext: (() => null) as () => RunContext | null,
  traces: [] as KeptTrace[],
  nextTraceId: 0,
};

/** A number JSON can carry: NaN and ±Infinity as strings. */
export function jsonNumber(x: number): JsonNumber {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return x;
}

export const sourceLine = (s: SourceInfo | null): SourceLine | null => (s ? { file: s.file, line: s.line, column: s.column } : null);
export const avalInfo = (a: ShapedArray): AvalInfo => ({ shape: [...a.shape], dtype: a.dtype.name, text: a.str() });

export function capText(s: string): { text: string; cut: boolean } {
  if (s.length <= INSPECT_LIMITS.text) return { text: s, cut: false };
  return { text: `${s.slice(0, INSPECT_LIMITS.text)}\n... (${s.length - INSPECT_LIMITS.text} more characters not sent)`, cut: true };
}

export function selectRecords<T extends { id: number }>(all: T[], p: InspectRecordsParams, fileOf: (r: T) => string | null): T[] {
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

/** The id of the newest kept trace record of this program, if it is still kept. */
export function traceIdOf(jaxpr: unknown): number | undefined {
  for (let i = store.traces.length - 1; i >= 0; i--) if (store.traces[i].record.jaxpr === jaxpr) return store.traces[i].id;
  return undefined;
}
