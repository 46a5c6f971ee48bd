// The kernels panel as a flat list of fixed-height rows (what the virtual list shows): a row per
// compiled program, a row per step of an expanded program, and for an expanded step its details
// (launch, timing, bindings, fused equations, the kernel IR when opened, and the generated
// source one row per line). Flattening is pure and proportional to the rows visible after
// expansion, so 200 collapsed programs of 50 steps cost 200 rows and a step's source of
// thousands of lines costs nothing until the step is opened.

import { KernelProgramRecord, KernelStepInfo } from "../../kernel/protocol";

/** What is expanded, by stable keys (program ids, `programId:stepIndex`). */
export interface Expansion {
  programs: Set<number>;
  steps: Set<string>;
  /** Steps whose scalar kernel IR is shown. */
  irs: Set<string>;
}

/** The key of a step in {@link Expansion.steps} / {@link Expansion.irs}. */
export const stepKey = (rec: KernelProgramRecord, step: KernelStepInfo): string => `${rec.id}:${step.index}`;

/** One row of the panel. `depth` is the tree level (0: programs). */
export type Row =
  | { kind: "program"; depth: 0; rec: KernelProgramRecord }
  | { kind: "step"; depth: 1; rec: KernelProgramRecord; step: KernelStepInfo }
  /** A "label: value" line of a step's details. */
  | { kind: "detail"; depth: 2; rec: KernelProgramRecord; step: KernelStepInfo; label: string; text: string; tone?: "muted" | "warn" }
  | { kind: "bindings"; depth: 2; rec: KernelProgramRecord; step: KernelStepInfo }
  | { kind: "binding"; depth: 3; rec: KernelProgramRecord; step: KernelStepInfo; at: number }
  | { kind: "eqns"; depth: 2; rec: KernelProgramRecord; step: KernelStepInfo }
  | { kind: "eqn"; depth: 3; rec: KernelProgramRecord; step: KernelStepInfo; at: number }
  | { kind: "ir"; depth: 2; rec: KernelProgramRecord; step: KernelStepInfo; lines: number }
  | { kind: "ir-line"; depth: 3; rec: KernelProgramRecord; step: KernelStepInfo; line: number; text: string }
  | { kind: "source"; depth: 2; rec: KernelProgramRecord; step: KernelStepInfo; lines: number }
  | { kind: "source-line"; depth: 3; rec: KernelProgramRecord; step: KernelStepInfo; line: number }
  /** A program with no steps, or cut by the kernel's caps. */
  | { kind: "note"; depth: 1; rec: KernelProgramRecord; text: string };

/** Whether a row can be expanded, and its expansion key. */
export function toggleOf(row: Row): { set: keyof Expansion; key: number | string } | null {
  if (row.kind === "program") return row.rec.steps.length ? { set: "programs", key: row.rec.id } : null;
  if (row.kind === "step") return { set: "steps", key: stepKey(row.rec, row.step) };
  if (row.kind === "ir") return { set: "irs", key: stepKey(row.rec, row.step) };
  return null;
}

/** Whether the row's toggle is open. */
export function isOpen(row: Row, ex: Expansion): boolean {
  const t = toggleOf(row);
  return !!t && (ex[t.set] as Set<number | string>).has(t.key);
}

/** Lines of a text (the count the rows use; a trailing newline makes no empty last row). */
export function lineCount(text: string): number {
  if (!text) return 0;
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return text.endsWith("\n") ? n - 1 : n;
}

/** The details of an expanded step, in display order (its source lines last). */
function stepRows(rec: KernelProgramRecord, step: KernelStepInfo, ex: Expansion, out: Row[], sourceLines: (step: KernelStepInfo) => number): void {
  const base = { rec, step, depth: 2 as const };
  const launch = step.launchShape.length ? `[${step.launchShape.join(", ")}]` : "scalar";
  const parts = [`${launch}, ${step.elements.toLocaleString("en-US")} elements`];
  if (step.workgroupSize) parts.push(`workgroup size [${step.workgroupSize.join(", ")}]`);
  if (step.dispatch) parts.push(`dispatch [${step.dispatch.join(", ")}]`);
  out.push({ ...base, kind: "detail", label: "launch", text: parts.join(" · ") });
  if (step.note) out.push({ ...base, kind: "detail", label: "note", text: step.note, tone: "warn" });
  out.push({ ...base, kind: "detail", label: "time", text: timingText(rec, step), tone: rec.timingOn ? undefined : "muted" });
  if (step.bindings?.length) {
    out.push({ ...base, kind: "bindings" });
    for (let i = 0; i < step.bindings.length; i++) out.push({ rec, step, depth: 3, kind: "binding", at: i });
  }
  if (step.eqnText.length) {
    out.push({ ...base, kind: "eqns" });
    for (let i = 0; i < step.eqnText.length; i++) out.push({ rec, step, depth: 3, kind: "eqn", at: i });
  }
  if (step.ir) {
    const lines = step.ir.split("\n");
    const row: Row = { ...base, kind: "ir", lines: lineCount(step.ir) };
    out.push(row);
    if (isOpen(row, ex)) for (let i = 0; i < row.lines; i++) out.push({ rec, step, depth: 3, kind: "ir-line", line: i, text: lines[i] });
  }
  if (step.source !== null && step.language) {
    const n = sourceLines(step);
    out.push({ ...base, kind: "source", lines: n });
    for (let i = 0; i < n; i++) out.push({ rec, step, depth: 3, kind: "source-line", line: i });
  } else if (step.kind !== "kernel") {
    out.push({ ...base, kind: "detail", label: "source", text: step.kind === "alias" ? "none: an alias shares its input's storage" : "none: a library routine of the backend", tone: "muted" });
  }
}

/** A step's measured time as the panel prints it. */
export function timingText(rec: KernelProgramRecord, step: KernelStepInfo): string {
  if (!rec.timingOn) return "timing off";
  const t = step.timing;
  if (!t.calls) return "not run since timing was turned on";
  return `${fmtMsShort(t.totalMs)} over ${t.calls} call${t.calls === 1 ? "" : "s"} (${fmtMsShort(t.totalMs / t.calls)} per call, last ${fmtMsShort(t.lastMs)})`;
}

/** Totals of a program: summed step times (total and last call), when timing was on. */
export function programTime(rec: KernelProgramRecord): { totalMs: number; lastMs: number } | null {
  if (!rec.timingOn) return null;
  let totalMs = 0;
  let lastMs = 0;
  for (const s of rec.steps) {
    totalMs += s.timing.totalMs;
    lastMs += s.timing.lastMs;
  }
  return { totalMs, lastMs };
}

const fmtMsShort = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : ms === 0 ? "0 ms" : `${ms.toPrecision(2)} ms`);

/**
 * The rows for `records` (newest first, as the kernel answers) given what is expanded.
 * `sourceLines` counts a step's source lines (the view caches it per step).
 */
export function buildRows(records: KernelProgramRecord[], ex: Expansion, sourceLines: (step: KernelStepInfo) => number = (s) => lineCount(s.source ?? "")): Row[] {
  const out: Row[] = [];
  for (const rec of records) {
    out.push({ kind: "program", depth: 0, rec });
    if (!ex.programs.has(rec.id)) continue;
    if (!rec.steps.length) out.push({ kind: "note", depth: 1, rec, text: "no steps: the program only returns its inputs or constants" });
    for (const step of rec.steps) {
      out.push({ kind: "step", depth: 1, rec, step });
      if (ex.steps.has(stepKey(rec, step))) stepRows(rec, step, ex, out, sourceLines);
    }
    if (rec.truncated) out.push({ kind: "note", depth: 1, rec, text: "cut by the kernel's caps: some steps or source text were not sent" });
  }
  return out;
}

/** Index of the row's parent (the program of a step, the step of a detail), or -1. */
export function parentIndex(rows: Row[], i: number): number {
  const d = rows[i]?.depth ?? 0;
  for (let j = i - 1; j >= 0; j--) if (rows[j].depth < d) return j;
  return -1;
}
