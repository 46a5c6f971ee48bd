// The kernels panel's records of programs that run on the CPU devices' own threads, and the link
// from a pmap's programs back to the pmap's IR record.
//
// With several CPU devices, pmap cuts its per-device program at the collectives into programs
// and each device's thread compiles and runs them with its own copy of Primal
// (kernel/backends/cpu/device-threads.ts), so their compiled records live in the threads' logs.
// `deviceKernelRecords` asks the started threads for them (one round trip to all at once, only
// when some thread was started); the threads answer in the panel's form, and this side gives
// each record its device, an id unique across threads, and the link to the pmap:
//
// - Ids: a thread numbers its records from 0, as this process does. A thread's record k gets
//   DEVICE_RECORD_IDS + device × 2^32 + k: stable across requests (the panel keys what is
//   expanded by id), far above this process's own ids, and decodable, so a request for some ids
//   is sent only to the threads that hold them.
// - The link: each record says which program it was compiled for, and this side still holds that
//   program. pmap's programs are made of the body's own equations (the same objects), so the pmap
//   IR record whose jaxpr holds them is found by identity, with their positions there (`irEqns`).
//   The same applies to the programs a one-device pmap compiles on this thread.
// - One record per device: each device's thread compiled the program and ran its shard, with its
//   own calls, compile time and kernel times. The records of one program are ordered together,
//   device by device, so the panel shows them as adjacent rows, each with its device badge.
// - The text forms (`primal run --kernels`, inspect/kernels): `deviceKernelTexts` asks the
//   threads for their records as text below the heading (formatted there by the code that
//   formats this process's records), and gives each the heading's name and line from the pmap
//   record, and its device. `byCompileTime` orders them among this process's records the same
//   way as the panel: by compile time, a program's devices together, cpu:0 first.

import { Device } from "../core/device";
import { ClosedJaxpr, Jaxpr, JaxprEqn, SourceInfo, Var } from "../ir/jaxpr";
import { TraceRecord } from "../ir/trace-log";
import { deviceThreadKernelText, deviceThreadRecords } from "../backends/cpu/device-threads";
import { compiledHeading } from "../lower/inspect";
import { InspectRecordsParams, KernelProgramRecord } from "../protocol";
import { INSPECT_LIMITS, KeptTrace, sourceLine, store } from "./inspect-common";

/** The first id of the device threads' records; this process's own records are numbered from 0. */
export const DEVICE_RECORD_IDS = 2 ** 40;
const PER_DEVICE = 2 ** 32;

/** The id a device thread's record `local` gets. */
export const deviceRecordId = (device: number, local: number): number => DEVICE_RECORD_IDS + device * PER_DEVICE + local;

/** The device and the thread's own id of a device record's id; null for this process's ids. */
export function splitDeviceRecordId(id: number): { device: number; local: number } | null {
  if (!Number.isSafeInteger(id) || id < DEVICE_RECORD_IDS) return null;
  const rest = id - DEVICE_RECORD_IDS;
  return { device: Math.floor(rest / PER_DEVICE), local: rest % PER_DEVICE };
}

/** A device thread's record, ready to merge with this process's: when its program was first compiled on any device, and on which device. */
export interface DeviceRecordEntry {
  rec: KernelProgramRecord;
  /** Compile time of the program's first record over all devices (ms since the epoch): a program's records sort together. */
  at: number;
  /** The device's id (its records sort after a lower device's). */
  device: number;
}

/**
 * The started device threads' records for an inspect/kernelRecords request, or null when no
 * thread was asked (none was started, or none holds the `ids`). With `ids`, only the threads
 * holding some of them are asked, and only for those (`total` then counts those threads'
 * records); with a `file`, every kept record is asked for (the file is known here, from the
 * pmap record); else each thread's newest `limit`.
 */
export function deviceKernelRecords(p: InspectRecordsParams): { entries: DeviceRecordEntry[]; total: number } | null {
  let ids: Map<number, number[]> | null = null;
  if (p.ids) {
    ids = new Map();
    for (const id of p.ids) {
      const s = splitDeviceRecordId(id);
      if (s) ids.set(s.device, [...(ids.get(s.device) ?? []), s.local]);
    }
  }
  const limit = p.file ? undefined : Math.max(0, Math.min(INSPECT_LIMITS.answer, p.limit ?? INSPECT_LIMITS.defaultAnswer));
  const answers = deviceThreadRecords((device) => (ids ? (ids.has(device) ? { ids: ids.get(device) } : null) : { limit }));
  if (!answers.length) return null;
  const entries: DeviceRecordEntry[] = [];
  const ofProgram: { entry: DeviceRecordEntry; pid: number }[] = [];
  const firstAt = new Map<number, number>();
  let total = 0;
  for (const a of answers) {
    total += a.total;
    for (const { pid, at, record, program } of a.records) {
      const rec = record as KernelProgramRecord;
      rec.id = deviceRecordId(a.device.id, rec.id);
      rec.device = String(a.device);
      if (program) linkSegment(rec, program);
      const entry = { rec, at, device: a.device.id };
      entries.push(entry);
      if (pid === null) continue;
      ofProgram.push({ entry, pid });
      firstAt.set(pid, Math.min(at, firstAt.get(pid) ?? Infinity));
    }
  }
  for (const { entry, pid } of ofProgram) entry.at = firstAt.get(pid)!;
  return { entries, total };
}

// ---- the text forms ---------------------------------------------------------------------------

/** A device thread's program as text, ready to print or to merge with this process's records. */
export interface DeviceTextEntry {
  device: Device;
  /** The thread's own id of the record. */
  local: number;
  /** As DeviceRecordEntry's: the first compile of the program on any device (ms since the epoch). */
  at: number;
  /** The pmapped function's name (from the pmap record; the run's name when that is not kept). */
  name: string;
  /** The line that called the pmapped function, when the pmap record is kept. */
  source: SourceInfo | null;
  /** The text below the heading: counts, steps, equations, sources (formatCompiledSteps, on the thread). */
  steps: string;
}

/**
 * The started device threads' compiled programs as text, in device order, each thread's oldest
 * first (none started: []; nothing is started). `after(device)` is the thread's own record id
 * after which to list (undefined: all it keeps; null skips it). The pmap records that name the
 * programs are looked up in `traces`, by default the kept trace records (inspect-records.ts);
 * the CLI, which keeps no such store, passes the pmap records it saw.
 */
export function deviceKernelTexts(
  after: (device: number) => number | undefined | null = () => undefined,
  traces: readonly { record: TraceRecord }[] = store.traces,
): DeviceTextEntry[] {
  const entries: (DeviceTextEntry & { pid: number | null })[] = [];
  const firstAt = new Map<number, number>();
  for (const a of deviceThreadKernelText(after))
    for (const { id, pid, at, name, text, program } of a.records) {
      const r = program ? pmapTraceOf(program, traces)?.trace.record : undefined;
      entries.push({ device: a.device, local: id, at, name: r?.name ?? name, source: r?.source ?? null, steps: text, pid });
      if (pid !== null) firstAt.set(pid, Math.min(at, firstAt.get(pid) ?? Infinity));
    }
  return entries.map(({ pid, ...e }) => (pid === null ? e : { ...e, at: firstAt.get(pid)! }));
}

/** A device thread's program as `primal run --kernels` prints it; `where` is the source part of the heading, already formatted. */
export function deviceKernelText(e: DeviceTextEntry, where: string): string {
  return `${compiledHeading(e.name, where, String(e.device))}\n${e.steps}`;
}

/**
 * Orders this process's records (`device` -1) and the device threads' (their device id, `at`
 * the first compile of their program) by compile time, oldest first or newest first, a
 * program's devices together in ascending order either way; records with the same time keep
 * their order (oldest first in, as the logs hold them).
 */
export function byCompileTime<T extends { at: number; device: number }>(entries: readonly T[], newestFirst: boolean): T[] {
  if (!newestFirst) return entries.slice().sort((a, b) => a.at - b.at || a.device - b.device);
  return entries.slice().sort((a, b) => a.at - b.at || b.device - a.device).reverse();
}

// ---- the link to the pmap record -------------------------------------------------------------

/** Each pmap body's equations by identity (and by their first output, which a device's copy of a custom_jvp call keeps). */
const positions = new WeakMap<Jaxpr, Map<JaxprEqn | Var, number>>();

function positionsIn(j: Jaxpr): Map<JaxprEqn | Var, number> {
  let m = positions.get(j);
  if (!m) {
    m = new Map();
    j.eqns.forEach((e, i) => {
      m!.set(e, i);
      if (e.outVars[0]) m!.set(e.outVars[0], i);
    });
    positions.set(j, m);
  }
  return m;
}

/**
 * The kept pmap IR record whose per-device program `program` is a part of, with the positions
 * of the program's equations in it; null when it is none of theirs (or no longer kept).
 */
export function pmapSegmentOf(program: ClosedJaxpr): { trace: KeptTrace; eqns: number[] } | null {
  return pmapTraceOf(program, store.traces);
}

/** The newest of `traces` whose pmap record's per-device program `program` is a part of, with the positions of its equations there. */
function pmapTraceOf<T extends { record: TraceRecord }>(program: ClosedJaxpr, traces: readonly T[]): { trace: T; eqns: number[] } | null {
  const eqns = program.jaxpr.eqns;
  if (!eqns.length) return null;
  for (let i = traces.length - 1; i >= 0; i--) {
    const t = traces[i];
    if (t.record.kind !== "pmap") continue;
    const at = positionsIn(t.record.jaxpr.jaxpr);
    const where = (e: JaxprEqn) => at.get(e) ?? (e.outVars[0] ? at.get(e.outVars[0]) : undefined);
    if (where(eqns[0]) === undefined) continue;
    const found = eqns.map(where).filter((k): k is number => k !== undefined);
    return { trace: t, eqns: found };
  }
  return null;
}

/**
 * Links a record of a program cut from a pmap body to the pmap's IR record: `irRecordId`,
 * `irEqns`, the pmapped function's name, and, where the record has none, the line that called
 * it and the cell that traced it. Returns whether it was one.
 */
export function linkSegment(rec: KernelProgramRecord, program: ClosedJaxpr): boolean {
  const s = pmapSegmentOf(program);
  if (!s) return false;
  const r = s.trace.record;
  rec.irRecordId = s.trace.id;
  rec.irEqns = s.eqns;
  rec.name = r.name;
  rec.source ??= sourceLine(r.source);
  if (rec.cell === undefined && s.trace.cell !== undefined) rec.cell = s.trace.cell;
  if (rec.runId === undefined && s.trace.runId !== undefined) rec.runId = s.trace.runId;
  return true;
}
