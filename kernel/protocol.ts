// The typed protocol between the kernel process, the extension and the panels: JSON-RPC
// methods named `area/verb`, their parameter and result types, and the notifications a
// running cell streams. No runtime dependencies: every side imports these types and names.

/** Bumped on any incompatible change; `kernel/initialize` refuses a mismatch. */
export const PROTOCOL_VERSION = 1;

/** Method and notification names. */
export const Methods = {
  initialize: "kernel/initialize",
  shutdown: "kernel/shutdown",
  interrupt: "kernel/interrupt",
  runCell: "cell/run",
  setConfig: "config/set",
  inspectJaxprs: "inspect/jaxprs",
  inspectGradients: "inspect/gradients",
  inspectKernels: "inspect/kernels",
} as const;

export const Notifications = {
  cellOutput: "cell/output",
} as const;

export interface InitializeParams {
  protocolVersion: number;
  /** Folder that relative imports in cells resolve from when a cell has no file. */
  workspaceFolder?: string;
}

export interface DeviceInfo {
  /** "cpu:0", "webgpu:0". */
  id: string;
  platform: string;
  kind: string;
}

export interface InitializeResult {
  protocolVersion: number;
  kernelVersion: string;
  nodeVersion: string;
  backends: string[];
  devices: DeviceInfo[];
  defaultDevice: string;
}

export interface RunCellParams {
  /** Absolute path of the cell file (for imports and error locations). */
  file: string;
  /** 0-based cell index within the file. */
  cell: number;
  /** The cell's TypeScript source. */
  code: string;
  /** 1-based line in the file where the cell's code starts. */
  startLine: number;
  /** Identifies this run in output notifications. */
  runId: string;
}

/** Where an error happened in the user's file. */
export interface ErrorLocation {
  file: string;
  cell: number;
  /** 1-based line and column in the user's file. */
  line: number;
  column: number;
}

export interface CellErrorInfo {
  name: string;
  message: string;
  location?: ErrorLocation;
  /** The stack, mapped to the user's file where it passes through a cell. */
  stack?: string;
}

export interface RunCellResult {
  runId: string;
  ok: boolean;
  /** JAX-style repr of the cell's last expression (absent when it is undefined). */
  value?: string;
  error?: CellErrorInfo;
  durationMs: number;
}

/** One piece of output streamed while a cell runs. */
export type CellOutput =
  | { kind: "text"; stream: "stdout" | "stderr"; text: string }
  | { kind: "display"; text: string }
  | { kind: "error"; error: CellErrorInfo };

export interface CellOutputParams {
  runId: string;
  output: CellOutput;
}
