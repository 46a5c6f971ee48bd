// The inspector panels' part of the protocol (kernel/protocol.ts re-exports all of it): the
// inspect/*Records answers (traced programs, gradients, compiled kernels), inspect/checkGrads,
// and the messages between a panel's page (webview/) and the extension (src/panels/), with the
// guards both sides check them with. No runtime dependencies beyond these guards.

import type { DeviceInfo, JsonNumber } from "./protocol";

// ---- inspect/*Records: the inspector panels' data --------------------------------------------
//
// Structured, JSON-safe forms of the records the text answers print. Every list is capped (see
// the `truncated` flags); numbers that JSON cannot carry travel as {@link JsonNumber} strings.

/** Parameters of the inspect/*Records requests. */
export interface InspectRecordsParams {
  /** Only records whose source is this file (absolute path); all when absent. */
  file?: string;
  /** Only the records with these ids (the panel fetches a large record when it is expanded). */
  ids?: number[];
  /** At most this many records, newest first (default 50, at most 200). */
  limit?: number;
}

/** A line in the user's code. */
export interface SourceLine {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** An abstract value: `f32[3,4]` is `{ shape: [3, 4], dtype: "float32", text: "f32[3,4]" }`. */
export interface AvalInfo {
  shape: number[];
  dtype: string;
  /** As the jaxpr prints it (`f32[3,4]`). */
  text: string;
}

/** A variable as the jaxpr text names it (`a`, `ba`; `_` for a dropped output). */
export interface VarInfo {
  name: string;
  aval: AvalInfo;
}

/** An equation's input: a variable, or a literal (`2.0:f32[]`). */
export type AtomInfo =
  | { kind: "var"; name: string; aval: AvalInfo }
  | { kind: "literal"; value: JsonNumber | boolean; /** As printed before the `:` (`2.0`, `True`). */ text: string; aval: AvalInfo };

/**
 * One parameter of an equation, in the order the printer shows them: a value as text, or
 * nested jaxprs (`jaxpr=` of jit, `branches=(...)` of cond, `body_jaxpr=` of scan/while,
 * `call_jaxpr=` of custom_jvp). `tuple` is true for a tuple of jaxprs (printed `k=(j1 j2)`).
 */
export type ParamInfo =
  | { name: string; kind: "value"; text: string }
  | { name: string; kind: "jaxprs"; tuple: boolean; jaxprs: JaxprInfo[] };

/** One equation, with the names the printed text gives its variables. */
export interface EqnInfo {
  /** Position in its jaxpr's equation list. */
  index: number;
  primitive: string;
  outVars: VarInfo[];
  inputs: AtomInfo[];
  params: ParamInfo[];
  /** The parameters that are not jaxprs, as printed: `axes=(0,) out_sharding=None`. */
  paramsText: string;
  /** The user's line that made the equation, when known. */
  source: SourceLine | null;
  /**
   * The lines of the record's printed text this equation occupies (0-based, first and last
   * inclusive; more than one when it prints nested jaxprs). For nested equations too, counted
   * in the same text. Absent when the text was cut before the equation.
   */
  textLines?: [number, number];
}

/** A jaxpr as data: what the printed text shows, equation by equation. */
export interface JaxprInfo {
  constvars: VarInfo[];
  invars: VarInfo[];
  eqns: EqnInfo[];
  outvars: AtomInfo[];
  /** Equations this jaxpr has (eqns.length unless truncated). */
  eqnCount: number;
  /** Some equations (here or in nested jaxprs) were left out: the record hit its cap. */
  truncated?: boolean;
}

/** One traced program of the IR panel. */
export interface IrRecord {
  id: number;
  /**
   * "jit": a jitted function's trace; "grad": the linear program behind a grad/valueAndGrad
   * call; "pmap": the per-device program of a pmap (what every device runs on its shard).
   */
  kind: "jit" | "grad" | "pmap";
  name: string;
  /** Where the user called the transformed function. */
  source: SourceLine | null;
  /** The cell that was running when it was traced (kernel process only). */
  cell?: number;
  /** The run that traced it. */
  runId?: string;
  inAvals: AvalInfo[];
  /** The jaxpr exactly as `makeJaxpr` prints it (cut, with a final line saying so, beyond the text cap). */
  text: string;
  jaxpr: JaxprInfo;
  /** For a compiled jitted function: the program after the compiler's passes (what was lowered). */
  optimized?: { compiledId: number; text: string; jaxpr: JaxprInfo };
  /**
   * grad records: `text`/`jaxpr` are the forward program (the function as `makeJaxpr` prints
   * it); `backward` is the linear program transposed (the output's cotangent in, the gradients
   * out), and `linear` the tangent program it was transposed from.
   */
  backward?: { text: string; jaxpr: JaxprInfo };
  linear?: { text: string; jaxpr: JaxprInfo };
  /**
   * jit records traced while the gradients panel listens: the last `tapOutputs` outputs of the
   * compiled program are the values of grad calls inside it (loss, gradients, inputs), returned
   * so the panel can show them; `text` and `jaxpr` leave them out, as `makeJaxpr` would.
   */
  tapOutputs?: number;
  /**
   * pmap records: `text`/`jaxpr` are the per-device program (the body on one shard's avals, as
   * `makeJaxpr` prints it); this is the mapped axis (`axisName` null for a pmap given none),
   * its size, and the devices the shards run on, shard i on `devices[i]`.
   */
  pmap?: PmapInfo;
}

/** The mapped axis of a pmap record and where its shards run. */
export interface PmapInfo {
  axisName: string | null;
  axisSize: number;
  /** One per shard (`axisSize` of them): "cpu:0", "cpu:1". */
  devices: string[];
}

/** Result of `inspect/irRecords`. */
export interface IrRecordsResult {
  records: IrRecord[];
  /** Records kept in all (before `limit` and `file`). */
  total: number;
}

/** Language of a kernel's source, for highlighting: WGSL shaders, JS kernels, WebAssembly listings. */
export type KernelLanguage = "wgsl" | "javascript" | "wat";

/** One step of a compiled program: a fused kernel, a library call or an alias (a reshape that shares storage). */
export interface KernelStepInfo {
  index: number;
  kind: "kernel" | "library" | "alias";
  name: string;
  /** The generated source that runs; null for library calls and aliases. */
  source: string | null;
  language: KernelLanguage | null;
  /** The scalar kernel IR as text (fused kernels). */
  ir: string | null;
  /** Indices into the program's optimised jaxpr (`optimized` of the IR record, `eqnCount` of the program). */
  eqns: number[];
  /** Those equations as jaxpr lines, named as in the printed optimised jaxpr. */
  eqnText: string[];
  launchShape: number[];
  elements: number;
  /** WebGPU: the shader's @workgroup_size and the dispatched workgroup counts (x, y, z). */
  workgroupSize?: number[];
  dispatch?: number[];
  /** The buffers the step reads and writes, in binding order (of its first pass). */
  bindings?: KernelBindingInfo[];
  /** Every pass of a step that runs as several dispatches (a two-pass reduction, a bitonic sort). */
  passes?: { workgroupSize?: number[]; dispatch?: number[]; bindings: KernelBindingInfo[] }[];
  /** What the backend made of the step: a GEMM variant, a host fallback and why. */
  note?: string;
  /** Measured time (calls 0 when timing was off). */
  timing: { calls: number; totalMs: number; lastMs: number };
}

/** A buffer a kernel binds: `@binding(2) var<storage, read_write> out: array<f32>` is `{ binding: 2, name: "out", access: "write", ... }`. */
export interface KernelBindingInfo {
  binding: number;
  name: string;
  access: "read" | "write" | "read_write" | "uniform";
  /** The array bound there, as the jaxpr prints its aval (`f32[128,10]`), when known. */
  aval?: string;
  bytes?: number;
}

/** One compiled program of the kernels panel. */
export interface KernelProgramRecord {
  id: number;
  name: string;
  /** "cpu", "webgpu". */
  platform: string;
  /** The device kind: "cpu", or the WebGPU adapter's description. */
  adapter?: string;
  source: SourceLine | null;
  cell?: number;
  runId?: string;
  /**
   * The IR record of the traced program, when it is still kept. For a program pmap cut from a
   * per-device program (between its collectives), the pmap record; `irEqns` says which part.
   */
  irRecordId?: number;
  /**
   * A program that computes a part of the IR record's program (a pmap's per-device program,
   * cut at its collectives): the equations of that record's jaxpr it computes, as indices into
   * its top-level equations, in order. The steps' `eqns` index this program's own optimised
   * jaxpr, which the pmap record does not show.
   */
  irEqns?: number[];
  /**
   * The device whose own thread compiled and runs the program ("cpu:1"): a pmap's programs on
   * CPU devices with threads of their own (PRIMAL_CPU_DEVICES). The same program on N devices
   * is N records, one per device, each with that device's calls and times. Absent for the
   * kernel process's own programs.
   */
  device?: string;
  counts: { kernels: number; library: number; aliases: number };
  /** Equations of the optimised jaxpr. */
  eqnCount: number;
  peakTempBytes: number;
  compileMs: number;
  calls: number;
  /** Whether the lowered program came from the compile cache (and from which level), or null when it was lowered afresh. */
  cacheHit: "traced" | "optimized" | null;
  /** Whether per-kernel timing was on (else timings stay at 0). */
  timingOn: boolean;
  steps: KernelStepInfo[];
  /** Steps or source text were cut by the caps. */
  truncated?: boolean;
}

/** Result of `inspect/kernelRecords`. */
export interface KernelRecordsResult {
  records: KernelProgramRecord[];
  total: number;
}

/** Statistics of one gradient leaf, computed in float64 on the host. */
export interface GradLeafStats {
  l2: JsonNumber;
  min: JsonNumber;
  max: JsonNumber;
  mean: JsonNumber;
  /** Fraction of elements equal to zero. */
  zeroFraction: number;
  nanCount: number;
  infCount: number;
  /** 20 bins over [min, max] of the finite values: `edges.length === counts.length + 1`. */
  histogram: { edges: number[]; counts: number[] };
}

/** One gradient leaf of a call. */
export interface GradLeafInfo {
  /** The pytree path, with the function's parameter name first: `params[0].w`, `params.w1`, `x`. */
  path: string;
  shape: number[];
  dtype: string;
  /** Absent when the values could not be read: see `missing`. */
  stats?: GradLeafStats;
  /** Why there are no stats: "traced" (a grad inside jit/vmap: no values exist at trace time), "too large", "disposed", a read error. */
  missing?: string;
}

/** One grad/valueAndGrad call. */
export interface GradCallInfo {
  /** Per function, counting from 1. */
  step: number;
  runId?: string;
  /** The function's value (the loss); absent when traced or not a float scalar on the host. */
  value?: JsonNumber;
  /** Under a transformation with no concrete values (vmap, another grad, a nested jit): shapes only. */
  traced: boolean;
  /** "eager": computed by the call; "jit": returned by the compiled step the call was traced into; "traced": no values. */
  origin?: "eager" | "jit" | "traced";
  leaves: GradLeafInfo[];
  /** The call's number of gradient leaves, when it had more than `leaves` lists (the cap). */
  leafCount?: number;
  /** The L2 norm over all leaves. */
  globalNorm?: JsonNumber;
}

/** One point of a function's history across calls. */
export interface GradHistoryPoint {
  step: number;
  value?: JsonNumber;
  globalNorm?: JsonNumber;
  /** Per leaf, in the order of `last.leaves`. */
  norms: (JsonNumber | null)[];
}

/** A differentiated function: its latest call in full, and a bounded history of the calls before. */
export interface GradientRecord {
  id: number;
  /** How it was differentiated. */
  kind: "grad" | "valueAndGrad";
  name: string;
  /** Where the latest call was made. */
  source: SourceLine | null;
  cell?: number;
  /** Calls so far. */
  calls: number;
  last: GradCallInfo;
  /** The latest calls (at most 200), oldest first. */
  history: GradHistoryPoint[];
  /** The IR record of the latest call's linear program, when kept. */
  irRecordId?: number;
}

/** Result of `inspect/gradientRecords`. */
export interface GradientRecordsResult {
  records: GradientRecord[];
  total: number;
  /** The run of the latest grad call (the panel's "last run"). */
  lastRunId?: string;
}

// ---- inspect/checkGrads ----------------------------------------------------------------------

/** Parameters of `inspect/checkGrads`: checks a recorded grad call against finite differences. */
export interface CheckGradsParams {
  /** The {@link GradientRecord} id: its latest call's function and inputs are checked. */
  recordId: number;
  /** Derivative order (default 1). */
  order?: number;
  /** "rev" (default, what grad computes), "fwd", or both. */
  modes?: ("fwd" | "rev")[];
}

/** One leaf's agreement between autodiff and finite differences. */
export interface CheckGradsLeaf {
  path: string;
  /** max |autodiff - numeric| / (atol + rtol |numeric|) over the leaf's directional checks: ≤ 1 passes. */
  worst: JsonNumber;
  /** The autodiff and numerical directional derivatives of the worst check. */
  autodiff: JsonNumber;
  numeric: JsonNumber;
  ok: boolean;
}

/** Result of `inspect/checkGrads`. */
export interface CheckGradsResult {
  recordId: number;
  /** Whether `checkGrads` passed (JAX's tolerances for the dtype). */
  ok: boolean;
  /** checkGrads' error message when it failed, or why the check could not run (inputs gone, traced call). */
  message?: string;
  /** Per differentiated leaf (absent when the check could not run). */
  leaves?: CheckGradsLeaf[];
  eps: number;
  order: number;
  ms: number;
}

// ---- the panels' messages ----------------------------------------------------------------------
//
// The inspector panels (webview/*.ts, shown by src/panels/) talk to the extension through
// postMessage. Every message is one of the types below; both sides validate what they receive
// with the guards at the end of this section and log and ignore anything else (a webview is
// untrusted input to the extension, and the extension's messages are checked before rendering).

/** The three inspector panels. */
export type PanelKind = "ir" | "gradients" | "kernels";

/** Where the kernel stands, as the panels show it. */
export type PanelKernelState = "idle" | "busy" | "stopped" | "dead";

/** Extension -> panel. */
export type HostToPanel =
  /** The panel's data, sent when the panel opens and after each cell run (live updates). */
  | { type: "irRecords"; data: IrRecordsResult; kernel: PanelKernelState }
  | { type: "gradientRecords"; data: GradientRecordsResult; kernel: PanelKernelState }
  | { type: "kernelRecords"; data: KernelRecordsResult; devices: DeviceInfo[]; kernel: PanelKernelState }
  /** No data: the kernel is not running or did not answer (the panel says why). */
  | { type: "empty"; reason: string; kernel: PanelKernelState }
  /** The editor's cursor moved: highlight the equations made by this line (null clears). */
  | { type: "cursor"; source: { file: string; line: number } | null }
  /** Show these equations of an IR record (from the kernels panel's "show in IR"). */
  | { type: "focus"; irRecordId: number; optimized: boolean; eqns: number[] }
  /** The answer to a panel's `checkGrads`. */
  | { type: "checkGradsResult"; result: CheckGradsResult };

/** Panel -> extension. */
export type PanelToHost =
  /** The page has loaded and wants its data. */
  | { type: "ready" }
  /** The user asked to refresh. */
  | { type: "refresh" }
  /** Reveal and select this line in the editor (an equation or record was clicked). */
  | { type: "revealSource"; source: SourceLine }
  /** Open the IR panel on these equations (kernels panel: the equations a kernel fused). */
  | { type: "showInIr"; irRecordId: number; optimized: boolean; eqns: number[] }
  /** Run `inspect/checkGrads` for a gradient record. */
  | { type: "checkGrads"; recordId: number }
  /** Open text in a read-only editor tab: the IR record's jaxpr ("primal-ir"), a kernel's source. */
  | { type: "openText"; title: string; language: "primal-ir" | KernelLanguage; text: string }
  /** A page-side error, for the "Primal" output channel. */
  | { type: "log"; level: "info" | "warn" | "error"; message: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);
const isStr = (v: unknown, max = 1 << 20): v is string => typeof v === "string" && v.length <= max;
const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.length <= 100_000 && v.every(isInt);
const isSourceLine = (v: unknown): v is SourceLine => isObj(v) && isStr(v.file, 4096) && isInt(v.line) && v.line >= 1 && isInt(v.column);
const KERNEL_STATES: readonly string[] = ["idle", "busy", "stopped", "dead"];
const IR_KINDS: readonly string[] = ["jit", "grad", "pmap"];

/** Whether `v` is a well-formed {@link PmapInfo}: a name or null, a size ≥ 1, one device name per shard. */
export function isPmapInfo(v: unknown): v is PmapInfo {
  return (
    isObj(v) &&
    (v.axisName === null || isStr(v.axisName, 1000)) &&
    isInt(v.axisSize) &&
    v.axisSize >= 1 &&
    Array.isArray(v.devices) &&
    v.devices.length === v.axisSize &&
    v.devices.every((d) => isStr(d, 200))
  );
}

/**
 * The IR records' fields the panel branches on: id, a known kind, name and text, and a
 * well-formed `pmap` when present (the rest of a record is trusted, as for the other records).
 */
function irRecordProblem(r: unknown, i: number): string | null {
  if (!isObj(r) || !isInt(r.id) || !isStr(r.name, 10_000) || !isStr(r.text, 4_000_000)) return `records[${i}]: expected an object with id, name and text`;
  if (!IR_KINDS.includes(r.kind as string)) return `records[${i}]: expected kind jit, grad or pmap, got ${JSON.stringify(r.kind)?.slice(0, 40)}`;
  if (r.pmap !== undefined && !isPmapInfo(r.pmap)) return `records[${i}]: expected pmap {axisName (string or null), axisSize ≥ 1, devices (one name per shard)}`;
  return null;
}

/**
 * The kernel records' fields the panel branches on: id, name, platform and steps, a device name
 * when present (it draws the device badge), and an IR link that can be followed (an integer
 * `irRecordId`, and `irEqns` only with one). The rest of a record is trusted.
 */
function kernelRecordProblem(r: unknown, i: number): string | null {
  if (!isObj(r) || !isInt(r.id) || !isStr(r.name, 10_000) || !isStr(r.platform, 200) || !Array.isArray(r.steps)) return `records[${i}]: expected an object with id, name, platform and steps`;
  if (r.device !== undefined && !(isStr(r.device, 200) && r.device.length > 0)) return `records[${i}]: expected device to be a device name ("cpu:1"), got ${JSON.stringify(r.device)?.slice(0, 40)}`;
  if (r.irRecordId !== undefined && !isInt(r.irRecordId)) return `records[${i}]: expected an integer irRecordId`;
  if (r.irEqns !== undefined && !(isIntList(r.irEqns) && r.irRecordId !== undefined)) return `records[${i}]: expected irEqns (integers) with an irRecordId`;
  return null;
}

/**
 * Checks a message from a panel; returns it typed, or a reason it was rejected (the extension
 * logs the reason and ignores the message).
 */
export function validatePanelMessage(m: unknown): PanelToHost | string {
  if (!isObj(m) || typeof m.type !== "string") return `panel message: expected an object with a string "type", got ${m === null ? "null" : typeof m}`;
  const bad = (what: string) => `panel message ${JSON.stringify(m.type).slice(0, 40)}: ${what}`;
  switch (m.type) {
    case "ready":
    case "refresh":
      return m as PanelToHost;
    case "revealSource":
      return isSourceLine(m.source) ? (m as PanelToHost) : bad("expected source {file, line ≥ 1, column}");
    case "showInIr":
      return isInt(m.irRecordId) && typeof m.optimized === "boolean" && isIntList(m.eqns) ? (m as PanelToHost) : bad("expected irRecordId, optimized and eqns (integers)");
    case "checkGrads":
      return isInt(m.recordId) ? (m as PanelToHost) : bad("expected an integer recordId");
    case "openText":
      return isStr(m.title, 200) && ["primal-ir", "wgsl", "javascript", "wat"].includes(m.language as string) && isStr(m.text, 4_000_000)
        ? (m as PanelToHost)
        : bad("expected title, language (primal-ir, wgsl, javascript, wat) and text");
    case "log":
      return ["info", "warn", "error"].includes(m.level as string) && isStr(m.message, 10_000) ? (m as PanelToHost) : bad("expected level and message");
    default:
      return bad("unknown type");
  }
}

/** The first record's problem (each checked with its index), or null. */
function firstProblem(recs: unknown[], problemOf: (r: unknown, i: number) => string | null): string | null {
  for (let i = 0; i < recs.length; i++) {
    const problem = problemOf(recs[i], i);
    if (problem) return problem;
  }
  return null;
}

/**
 * Checks a message from the extension (the panel's side); returns it typed, or a reason. The
 * records themselves are trusted to have the protocol's shape once their envelope checks out,
 * except the fields that choose how a record is rendered: the IR records' kind and pmap, the
 * kernel records' device and IR link.
 */
export function validateHostMessage(m: unknown): HostToPanel | string {
  if (!isObj(m) || typeof m.type !== "string") return `host message: expected an object with a string "type", got ${m === null ? "null" : typeof m}`;
  const bad = (what: string) => `host message ${JSON.stringify(m.type).slice(0, 40)}: ${what}`;
  const records = (d: unknown) => isObj(d) && Array.isArray(d.records) && isInt(d.total);
  const kernelOk = KERNEL_STATES.includes(m.kernel as string);
  switch (m.type) {
    case "irRecords": {
      if (!records(m.data) || !kernelOk) return bad("expected data {records, total} and kernel state");
      const problem = firstProblem((m.data as { records: unknown[] }).records, irRecordProblem);
      return problem ? bad(problem) : (m as HostToPanel);
    }
    case "gradientRecords":
      return records(m.data) && kernelOk ? (m as HostToPanel) : bad("expected data {records, total} and kernel state");
    case "kernelRecords": {
      if (!records(m.data) || !Array.isArray(m.devices) || !kernelOk) return bad("expected data {records, total}, devices and kernel state");
      const problem = firstProblem((m.data as { records: unknown[] }).records, kernelRecordProblem);
      return problem ? bad(problem) : (m as HostToPanel);
    }
    case "empty":
      return isStr(m.reason, 10_000) && kernelOk ? (m as HostToPanel) : bad("expected a reason and kernel state");
    case "cursor":
      return m.source === null || (isObj(m.source) && isStr(m.source.file, 4096) && isInt(m.source.line)) ? (m as HostToPanel) : bad("expected source {file, line} or null");
    case "focus":
      return isInt(m.irRecordId) && typeof m.optimized === "boolean" && isIntList(m.eqns) ? (m as HostToPanel) : bad("expected irRecordId, optimized and eqns");
    case "checkGradsResult":
      return isObj(m.result) && isInt(m.result.recordId) && typeof m.result.ok === "boolean" ? (m as HostToPanel) : bad("expected result {recordId, ok}");
    default:
      return bad("unknown type");
  }
}
