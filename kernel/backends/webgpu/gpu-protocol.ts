// The messages between the main thread (gpu-client.ts) and the device thread (gpu-thread.ts):
// the commands, the replies, and the words of the shared control block. Types and constants
// only, so that each side can import it without pulling in the other.

/** Shared control words (Int32Array over a SharedArrayBuffer). */
export const CTL_REPLIES = 0; // bumped after each reply is posted
export const CTL_GENERATION = 1; // bumped when the device is lost and re-created
export const CTL_LIVE = 2; // buffers in use (not in the pool)
export const CTL_DEAD = 3; // set when the device thread exits
export const CTL_WORDS = 4;

/** The token of the reply that says a batch of commands is done (the thread may then be idle). */
export const BATCH_DONE = -1;

/** Adapter facts sent to the main thread once the device is open. */
export interface AdapterInfo {
  description: string;
  vendor: string;
  architecture: string;
  device: string;
  /** A software adapter (lavapipe, SwiftShader, WARP): used only when asked for. */
  software: boolean;
  features: string[];
  limits: Record<string, number>;
}

export type Command =
  | { c: "shader"; sid: number; code: string; entry: string; access: ("read" | "rw")[]; label: string }
  | { c: "write"; id: number; bytes: number; data: ArrayBuffer | null }
  | { c: "run"; sid: number; bufs: number[]; sizes: number[]; wg: [number, number, number]; tag: number }
  | { c: "copy"; src: number; dst: number; bytes: number }
  | { c: "free"; ids: number[] }
  | { c: "read"; id: number; bytes: number; token: number }
  | { c: "sync"; token: number }
  | { c: "stats"; token: number }
  | { c: "timing"; on: boolean }
  | { c: "lose"; token: number }
  | { c: "close"; token: number };

export interface Reply {
  token: number;
  data?: ArrayBuffer;
  errors: string[];
  stats?: { live: number; pooled: number; pooledBytes: number; liveBytes: number; submits: number; dispatches: number; pipelines: number };
  /** Kernel times measured by timestamp queries since the last reply: [tag, nanoseconds]. */
  times?: [number, number][];
  ready?: AdapterInfo;
  failed?: string;
}

