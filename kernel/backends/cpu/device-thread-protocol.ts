// The protocol between the main thread (device-threads.ts) and a CPU device's thread
// (kernel/cpu-device-thread.ts): what a thread is started with, the commands it takes in
// batches, and its replies. Ids of arrays and programs are chosen by the main thread.

import type { MessagePort } from "node:worker_threads";
import type { DTypeName, Storage } from "../../core/dtype";
import type { WireClosedJaxpr } from "../../ir/wire";

/** What a device thread is started with. */
export interface ThreadWorkerData {
  /** The Int32Array shared by all device threads: a reply counter, then a dead flag per device. */
  ctl: SharedArrayBuffer;
  repliesIndex: number;
  deadIndex: number;
  /** Where the thread posts its replies. */
  replies: MessagePort;
  /** The device's index (its debug lines are tagged cpu:<device>). */
  device: number;
}

/** Main thread -> device thread, in batches (arrays of commands, handled in order). */
export type ThreadCommand =
  | { c: "put"; id: number; dtype: DTypeName; shape: number[]; weak: boolean; data: Storage }
  | { c: "program"; pid: number; wire: WireClosedJaxpr }
  | { c: "drop"; pid: number }
  | { c: "run"; token: number; pid: number; name: string; inputs: number[]; outputs: number[]; release: number[] }
  | { c: "get"; token: number; id: number }
  | { c: "free"; ids: number[] }
  | { c: "stats"; token: number }
  /** Per-kernel timing on or off (kernel/lower/inspect.ts's setKernelTiming), as this thread has it. */
  | { c: "timing"; on: boolean }
  /** The thread's compiled programs: the newest `limit`, or those with the thread's own `ids`. */
  | { c: "inspect"; token: number; limit?: number; ids?: number[] }
  /** The thread's compiled programs as `primal run --kernels` prints them: those numbered above `after` (all without it). */
  | { c: "kernelText"; token: number; after?: number };

/** A program a device thread compiled, as the thread describes it (the answer to `inspect`). */
export interface ThreadCompiledRecord {
  /** The program (`program` command) whose run compiled it; null when compiled outside a run. */
  pid: number | null;
  /** When it was compiled, in ms since the epoch. */
  at: number;
  /**
   * The kernels panel's record of it, made on the thread by kernel/server/inspect-records.ts
   * (the protocol's KernelProgramRecord, numbered by the thread and named after the run that
   * compiled it). This layer only carries it.
   */
  record: { id: number };
}

/** A program a device thread compiled, as text (the answer to `kernelText`). */
export interface ThreadKernelText {
  /** The thread's own id of the record (its compile log numbers them from 0). */
  id: number;
  /** As in ThreadCompiledRecord. */
  pid: number | null;
  at: number;
  /** The run's name (the pmapped function's), else the record's. */
  name: string;
  /** The record's text below its heading (kernel/lower/inspect.ts's formatCompiledSteps). */
  text: string;
}

/** Device thread -> main thread. Token 0 says the thread is ready; token -1 that it is ending. */
export type ThreadReply =
  | {
      token: number;
      ok: true;
      data?: Storage;
      stats?: { threadId: number; liveArrays: number; programs: number };
      ready?: { threadId: number; at: number };
      /** The answer to `inspect`: the records picked, oldest first, and how many the thread keeps. */
      inspect?: { records: ThreadCompiledRecord[]; total: number };
      /** The answer to `kernelText`: the records picked, oldest first. */
      kernelText?: ThreadKernelText[];
    }
  | { token: number; ok: false; error: { name: string; message: string } };
