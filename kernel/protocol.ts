// The typed protocol between the kernel process, the extension and the panels: JSON-RPC
// methods named `area/verb`, their parameter and result types, and the notifications a
// running cell streams. No runtime dependencies: every side imports these types and names.
//
// Conversation, as the extension drives it:
//   1. spawn dist/kernel.js (VS Code's Node, ELECTRON_RUN_AS_NODE=1), JSON-RPC over stdio;
//   2. `kernel/initialize` (version check; capabilities: backends, devices, versions, config);
//   3. `config/set` whenever a setting changes (JIT, backend, PRNG mode, environment): it takes
//      effect on the next `cell/run`, without restarting the kernel;
//   4. `cell/run` per cell; while it runs the kernel sends `cell/output` (batched, throttled,
//      summarised) and `cell/progress` notifications; the response comes when the cell ends;
//   5. interrupt: send SIGINT to the kernel process (stops synchronous code, e.g.
//      `while (true) {}`, through vm's breakOnSigint) and/or the `kernel/interrupt` request
//      (stops a cell that is awaiting a promise). Either way the kernel keeps its state and the
//      interrupted run answers with status "interrupted". If the response does not come within
//      a few seconds (a loop inside native code, or a synchronous loop after the cell's first
//      `await`), the extension offers a restart;
//   6. `kernel/shutdown`, after which the process exits with code 0. Any other exit is a crash:
//      the process prints `primal kernel: exiting with code N (reason)` on stderr first when it
//      can (process.exit() in a cell, an uncaught fatal error); a native fault or out-of-memory
//      kill gives a signal instead of a code.
//
// Numbers that JSON cannot carry (NaN, ±Infinity) are sent as the strings "NaN", "Infinity",
// "-Infinity" inside array previews, tables and plots.

/** Bumped on any incompatible change; `kernel/initialize` refuses a mismatch. */
export const PROTOCOL_VERSION = 2;

/** Request names (client -> kernel). */
export const Methods = {
  /** {@link InitializeParams} -> {@link InitializeResult}. Must come first; refuses another protocol version. */
  initialize: "kernel/initialize",
  /** no params -> null. The process exits with code 0 once the response is written. */
  shutdown: "kernel/shutdown",
  /** {@link InterruptParams} -> {@link InterruptResult}. Stops the running cell (the awaiting part; SIGINT covers synchronous code). */
  interrupt: "kernel/interrupt",
  /** no params -> {@link KernelStatus}. */
  status: "kernel/status",
  /** {@link RunCellParams} -> {@link RunCellResult}. Cells run one at a time, in the order requested. */
  runCell: "cell/run",
  /** {@link SetConfigParams} -> {@link ConfigState}. Takes effect on the next cell run. */
  setConfig: "config/set",
  /** {@link DebugStartParams} -> {@link DebugStartResult}: opens the kernel's inspector for VS Code's JS debugger. */
  debugStart: "debug/start",
  /**
   * {@link InspectParams} -> {@link InspectResult}: the inspection records as text (jaxprs of
   * jitted functions, grad's linear programs, compiled kernels), until the panels of the next
   * issue render them.
   */
  inspectJaxprs: "inspect/jaxprs",
  inspectGradients: "inspect/gradients",
  inspectKernels: "inspect/kernels",
  /** {@link InspectRecordsParams} -> {@link IrRecordsResult}: the IR panel's data (traced functions, newest first). */
  inspectIrRecords: "inspect/irRecords",
  /** {@link InspectRecordsParams} -> {@link GradientRecordsResult}: the gradients panel's data (per differentiated function). */
  inspectGradientRecords: "inspect/gradientRecords",
  /** {@link InspectRecordsParams} -> {@link KernelRecordsResult}: the kernels panel's data (compiled programs, newest first). */
  inspectKernelRecords: "inspect/kernelRecords",
  /** {@link CheckGradsParams} -> {@link CheckGradsResult}: the gradients panel's "check" action. */
  inspectCheckGrads: "inspect/checkGrads",
} as const;

/** Notification names (kernel -> client). */
export const Notifications = {
  /** {@link CellOutputParams}: output of the running cell, in the order it was produced. */
  cellOutput: "cell/output",
  /** {@link CellProgressParams}: a cell started, is still running (about once a second while it awaits), or ended. */
  cellProgress: "cell/progress",
} as const;

/** JSON-RPC error codes the kernel uses besides the standard ones. */
export const KernelErrorCodes = {
  /** `kernel/initialize` with another protocol version. */
  protocolMismatch: -32010,
  /** `config/set` with a value the kernel cannot apply (unknown backend, no devices). */
  invalidConfig: -32011,
} as const;

// ---- kernel/initialize ---------------------------------------------------------------------

/** Parameters of `kernel/initialize`. */
export interface InitializeParams {
  /** Must equal the kernel's {@link PROTOCOL_VERSION}; otherwise the request fails with `protocol version mismatch`. */
  protocolVersion: number;
  /** Folder that relative imports in cells resolve from when a cell has no file. */
  workspaceFolder?: string;
  /** Initial configuration, applied before the result is computed (same as a `config/set`). */
  config?: SetConfigParams;
}

/** One device the kernel can run on. */
export interface DeviceInfo {
  /** "cpu:0", "webgpu:0". */
  id: string;
  /** "cpu", "webgpu". */
  platform: string;
  /** The backend's device kind: "cpu", or the WebGPU adapter's description (e.g. "llvmpipe (LLVM 15.0.7, 256 bits)"). */
  kind: string;
  /** Adapter name for GPU devices (same as `kind` there); absent for the CPU. */
  adapter?: string;
  /** Worker threads the device computes with, where that means something (CPU: the machine's parallelism). */
  threads?: number;
  /** The adapter's limits that shape kernels (WebGPU: maxComputeWorkgroupSizeX, maxStorageBufferBindingSize, ...). */
  limits?: Record<string, number>;
  /** The adapter's features that kernels use (WebGPU: "shader-f16", "timestamp-query", "subgroups"). */
  features?: string[];
}

/** A registered backend that has no devices here, and why (e.g. no WebGPU adapter). */
export interface UnavailableBackend {
  platform: string;
  reason: string;
}

/** Versions of the pieces the kernel is made of. */
export interface KernelVersions {
  protocol: number;
  /** Primal's version (package.json). */
  kernel: string;
  /** `process.version` of the runtime the kernel runs on (VS Code's Electron Node in the editor). */
  node: string;
  v8: string;
}

/** Result of `kernel/initialize`: the kernel's capabilities. */
export interface InitializeResult {
  protocolVersion: number;
  /** Same as versions.kernel (kept for older clients). */
  kernelVersion: string;
  /** Same as versions.node (kept for older clients). */
  nodeVersion: string;
  versions: KernelVersions;
  /** Platforms with at least one device, e.g. ["cpu", "webgpu"]. */
  backends: string[];
  /** Registered backends without devices here. */
  unavailableBackends: UnavailableBackend[];
  devices: DeviceInfo[];
  /** Id of the device new arrays go to ("cpu:0"). */
  defaultDevice: string;
  /** Whether `jit` compiles (false when `jax_disable_jit` is set). */
  jitEnabled: boolean;
  /** The full configuration after the initial `config` was applied. */
  config: ConfigState;
  /** The kernel's process id (the extension sends SIGINT to it to interrupt). */
  pid: number;
  /** Output limits this kernel applies per cell (see {@link CellOutput}). */
  limits: OutputLimits;
}

/** How the kernel throttles a cell's output, so that a chatty cell cannot flood the editor. */
export interface OutputLimits {
  /** `cell/output` notifications are sent at most once per this many ms while a cell runs (text is batched). */
  batchIntervalMs: number;
  /** Lines of text per stream kept from the start of a cell's output; the rest is summarised. */
  maxLinesPerCell: number;
  /** Lines kept from the end of the output once the cap was hit (the latest progress line stays visible). */
  tailLines: number;
  /** Display outputs (arrays, tables, plots, values) per cell; later ones are counted in a summary. */
  maxDisplaysPerCell: number;
  /** Elements of an array sent in its preview (edges of each axis, as NumPy's summarisation). */
  maxPreviewElements: number;
}

// ---- config/set ----------------------------------------------------------------------------

/** Parameters of `config/set`: only the fields given change. */
export interface SetConfigParams {
  /** false sets `config.update("jax_disable_jit", true)`: jit runs eagerly (debuggable, line by line). */
  jitEnabled?: boolean;
  /** "cpu", "webgpu", or null for automatic: `config.update("jax_platform_name", ...)`. Existing arrays stay where they are. */
  backend?: string | null;
  /** `config.update("jax_threefry_partitionable", ...)`. */
  prngPartitionable?: boolean;
  /** Measure each compiled kernel's time for the kernels panel (on by default in the kernel process). */
  kernelTiming?: boolean;
  /**
   * Extra environment variables, set in the kernel's process.env (null removes one). Only code
   * that reads them later sees them; variables read at startup (PRIMAL_BACKEND, PRIMAL_DEBUG)
   * need a kernel restart, which is why the extension also passes them at spawn.
   */
  env?: Record<string, string | null>;
}

/** The configuration in effect (result of `config/set`, part of initialize and status). */
export interface ConfigState {
  jitEnabled: boolean;
  /** The platform asked for, or null when automatic. */
  backend: string | null;
  /** The platform actually used for new arrays ("cpu" when automatic picked the CPU). */
  platform: string;
  defaultDevice: string;
  prngPartitionable: boolean;
  kernelTiming: boolean;
}

// ---- cell/run ------------------------------------------------------------------------------

/** Parameters of `cell/run`. */
export interface RunCellParams {
  /** Absolute path of the cell file (for imports and error locations). Each file has its own scope. */
  file: string;
  /** 0-based cell index within the file. */
  cell: number;
  /** The cell's TypeScript source. */
  code: string;
  /** 1-based line in the file where the cell's code starts. */
  startLine: number;
  /** 1-based last line of the cell in the file (informational: lets results be placed without re-parsing). */
  endLine?: number;
  /** Identifies this run in output and progress notifications. */
  runId: string;
  /** Run under the debugger (after `debug/start`): the cell gets a source map to its file so breakpoints bind, and stops at its first line when `stopOnEntry`. */
  debug?: boolean;
  /** With `debug`: pause before the cell's first statement. */
  stopOnEntry?: boolean;
}

/** Where an error happened in the user's file. */
export interface ErrorLocation {
  file: string;
  /** Index of the cell that was running (the failing line may be in an earlier cell that defined the function). */
  cell: number;
  /** 1-based line and column in the user's file. */
  line: number;
  column: number;
}

/** A cell's error, mapped to the user's file. */
export interface CellErrorInfo {
  /** `err.name`: "ShapeError", "TypeError", "SyntaxError", "Interrupted", ... */
  name: string;
  message: string;
  location?: ErrorLocation;
  /** The stack, mapped to the user's file where it passes through a cell. */
  stack?: string;
}

/** How a run ended. */
export type RunStatus = "ok" | "error" | "interrupted";

/** Result of `cell/run`, sent when the cell has finished (after all its `cell/output` notifications). */
export interface RunCellResult {
  runId: string;
  status: RunStatus;
  /** status === "ok" (kept for older clients). */
  ok: boolean;
  /** JAX-style repr of the cell's last expression, summarised like NumPy (absent when it is undefined). */
  value?: string;
  /** The structured form of the last value (an array with shape/dtype/preview, a table, a plot), when it has one. */
  valueOutput?: CellOutput;
  /** For "error" and "interrupted" (name "Interrupted", location = where it stopped when known). */
  error?: CellErrorInfo;
  durationMs: number;
  /** Output that was dropped by the per-cell caps (0 when nothing was). */
  omitted?: { lines: number; displays: number };
}

// ---- cell/output ---------------------------------------------------------------------------

/** A JSON-safe number: NaN and ±Infinity travel as strings. */
export type JsonNumber = number | "NaN" | "Infinity" | "-Infinity";

/**
 * A bounded view of an array for a table: the array is seen as 2-D (rows = all leading axes
 * flattened, columns = the last axis; a scalar is 1×1, a vector 1×n) and only the edge rows
 * and columns are sent when it is large. `rowIndex[i]`/`colIndex[j]` give the original flat
 * row and column of `values[i][j]`; a jump between consecutive indices is where "…" goes.
 */
export interface ArrayPreview {
  rows: number;
  cols: number;
  rowIndex: number[];
  colIndex: number[];
  /** Booleans for bool arrays, numbers otherwise. */
  values: (JsonNumber | boolean)[][];
  /** True when some elements are not in `values`. */
  truncated: boolean;
}

/** Summary statistics of a numeric array (absent for bool arrays and empty ones). */
export interface ArrayStats {
  min: JsonNumber;
  max: JsonNumber;
  mean: JsonNumber;
  /** Count of NaN elements (floats only). */
  nanCount?: number;
}

/** An array: what `display(x)` or a cell's last value `x` sends. Never the whole data of a large array. */
export interface ArrayOutput {
  kind: "array";
  shape: number[];
  /** "float32", "int32", "bool", ... */
  dtype: string;
  size: number;
  /** "cpu:0". */
  device?: string;
  /** JAX repr, summarised with "..." like NumPy beyond 1000 elements: `Array([0, 1, ..., 9], dtype=int32)`. */
  repr: string;
  preview: ArrayPreview;
  /** Computed over the whole array when it has at most 10M elements; otherwise absent. */
  stats?: ArrayStats;
}

/** A table: `display` of an array of plain records (`[{ step: 1, loss: 0.3 }, ...]`). */
export interface TableOutput {
  kind: "table";
  title?: string;
  columns: string[];
  rows: (JsonNumber | string | boolean | null)[][];
  /** Total row count; more than rows.length when the table was cut. */
  totalRows: number;
}

/** One line or scatter series of a plot. */
export interface PlotSeries {
  name?: string;
  x: JsonNumber[];
  y: JsonNumber[];
}

/**
 * A plot as data (the extension draws it as SVG): `display(plot.line(losses, { title }))`,
 * `display(plot.hist(x, { bins: 30 }))`, `display(plot.scatter(xs, ys))`. Long series are
 * downsampled by the kernel (min/max per bucket, so spikes stay visible).
 */
export interface PlotSpec {
  type: "line" | "scatter" | "hist";
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** line and scatter. */
  series?: PlotSeries[];
  /** hist: `edges.length === counts.length + 1`. */
  bins?: { edges: number[]; counts: number[] };
  /** Points dropped by downsampling (0 when none). */
  downsampledFrom?: number;
}

/** A plot output. */
export interface PlotOutput {
  kind: "plot";
  plot: PlotSpec;
}

/** One piece of output streamed while a cell runs. */
export type CellOutput =
  /**
   * Printed text (console.log, print, process.stdout in a cell's console). Consecutive writes
   * to one stream are batched into one output. When the per-cell cap is hit, one output
   * carries `omittedLines` and a text like `... 98,980 more lines ...`, followed by the last
   * {@link OutputLimits.tailLines} lines.
   */
  | { kind: "text"; stream: "stdout" | "stderr"; text: string; omittedLines?: number }
  /** A value shown with `display()` that has no richer form: its repr (strings, objects, numbers). */
  | { kind: "display"; text: string }
  | ArrayOutput
  | TableOutput
  | PlotOutput
  /** The cell's error (also in the `cell/run` result), sent last. */
  | { kind: "error"; error: CellErrorInfo };

/** Parameters of the `cell/output` notification. */
export interface CellOutputParams {
  runId: string;
  output: CellOutput;
}

// ---- cell/progress, kernel/status, kernel/interrupt ----------------------------------------

/** Whether the kernel is running a cell. */
export type KernelState = "idle" | "busy";

/**
 * Parameters of the `cell/progress` notification: sent when a cell starts (state "busy",
 * elapsed 0), about once a second while it is still running and the event loop is free (a
 * cell awaiting GPU work or timers; a synchronous loop blocks these, so the client should
 * also count time itself), and when it ends (state "idle").
 */
export interface CellProgressParams {
  runId: string;
  file: string;
  cell: number;
  state: KernelState;
  elapsedMs: number;
  /** Runs waiting behind this one. */
  queued: number;
}

/** Result of `kernel/status`. */
export interface KernelStatus {
  state: KernelState;
  /** The running cell, when busy. */
  running?: { runId: string; file: string; cell: number; elapsedMs: number };
  queued: number;
  config: ConfigState;
  pid: number;
  /** Process memory in bytes. */
  memory: { rss: number; heapUsed: number; external: number };
  /** Files with a live scope (cells run there since the kernel started). */
  files: string[];
}

/** Parameters of `kernel/interrupt`. */
export interface InterruptParams {
  /** Interrupt only this run (ignored if another is running); absent: whatever runs. Queued runs are cancelled too unless `keepQueued`. */
  runId?: string;
  keepQueued?: boolean;
}

/** Result of `kernel/interrupt`. */
export interface InterruptResult {
  /** Whether a running cell was told to stop (false when idle). */
  interrupted: boolean;
  runId?: string;
  /** Queued runs cancelled (they answer with status "interrupted"). */
  cancelled: number;
}

// ---- debug/start ---------------------------------------------------------------------------

/** Parameters of `debug/start`. */
export interface DebugStartParams {
  /** Inspector port; 0 or absent picks a free one. */
  port?: number;
}

/** Result of `debug/start`: where VS Code's JavaScript debugger attaches (`type: "node", request: "attach"`). */
export interface DebugStartResult {
  /** ws://127.0.0.1:PORT/UUID */
  url: string;
  port: number;
}

/** Parameters of the inspect/* requests. */
export interface InspectParams {
  /** Only records whose source is this file (absolute path); all when absent. */
  file?: string;
}

/** Answer of the inspect/* requests. */
export interface InspectResult {
  /** Records shown. */
  count: number;
  /** The records as `primal run --ir` / `--kernels` print them, newest first. */
  text: string;
}

// The inspector panels' requests and messages live in their own file.
export * from "./inspect-protocol";
