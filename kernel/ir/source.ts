// Source locations of equations: the first stack frame outside Primal's own code is the line
// of the user's program that called the operation. The cell runner installs a locator that
// maps frames of cells back to the user's file through its source maps.

import { SourceInfo } from "./jaxpr";

/** Maps a V8 stack to the user's location, or null. */
export type SourceLocator = (stack: string) => SourceInfo | null;

// This module's bundle or source folder: frames in it (or in node internals) are the library's.
const ownFile = typeof __filename === "string" ? __filename : "";
// From the sources: kernel/ (not the repository root, whose test/ and examples/ are user code);
// from a bundle: the bundle's folder (dist/).
const ownRoot = ownFile.replace(/[/\\]ir[/\\]source\.[jt]s$/, "").replace(/[/\\][^/\\]+\.js$/, "");

// The location at the end of a frame line, after "(" or a space: a Windows drive letter is a
// single letter there, so "node:internal/..." is never read as drive "e:".
const FRAME = /(?:^|[\s(])((?:[a-zA-Z]:[\\/])?[^():\s]+(?:#[^():\s]*)?):(\d+):(\d+)\)?\s*$/;

function defaultLocator(stack: string): SourceInfo | null {
  for (const line of stack.split("\n").slice(1)) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    const file = m[1];
    if (file.startsWith("node:") || file.includes("node_modules") || (ownRoot && (file.startsWith(ownRoot + "/") || file.startsWith(ownRoot + "\\")))) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return null;
}

let locator: SourceLocator = defaultLocator;

/** Installs a locator (the cell runner does); returns the previous one. */
export function setSourceLocator(l: SourceLocator): SourceLocator {
  const prev = locator;
  locator = l;
  return prev;
}

/** A source location resolved on first use. */
export type LazySource = () => SourceInfo | null;

/**
 * The user's location of the current call, resolved lazily: V8 records the frames when the
 * Error is made (cheap) and formats them only when `.stack` is read, which is the expensive
 * part (and far more so under source-mapping test runners). Tracing records one per equation.
 * Inside `withSharedSource`, the first capture is shared by all the others.
 */
export function captureSource(): LazySource {
  if (shared) return (shared.src ??= captureNow());
  return captureNow();
}

function captureNow(): LazySource {
  const prevLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const err = new Error();
  Error.stackTraceLimit = prevLimit;
  const l = locator; // the locator in force now (a cell's), not the one at resolution time
  let done = false;
  let value: SourceInfo | null = null;
  return () => {
    if (!done) {
      value = l(err.stack ?? "");
      done = true;
    }
    return value;
  };
}

// Capturing a stack costs ~25-50 µs (about 1 µs per frame: tracing inside grad inside jit is
// 30-45 frames deep). Where the library stages several equations for one call from user code,
// without calling user code in between (a jvp rule, a batching rule, the whole backward pass of
// a vjp), the first frame outside the library is the same for all of them, so one capture
// serves them all. Library code that calls back into user code (custom_jvp/custom_vjp rules)
// runs that call under `withOwnSources`, where the user's own lines count again.
let shared: { src: LazySource | null } | null = null;
let sharing = true;

/** @internal Turns the sharing of captures off (tests compare the lines with and without it). */
export function _setSourceSharing(on: boolean): boolean {
  const was = sharing;
  sharing = on;
  return was;
}

/** Runs `fn` with the source captured first inside it shared by every equation staged inside (see above). */
export function withSharedSource<T>(fn: () => T): T {
  if (shared || !sharing) return fn();
  shared = { src: null };
  try {
    return fn();
  } finally {
    shared = null;
  }
}

/** Runs user code called from library code: the equations it stages capture their own sources. */
export function withOwnSources<T>(fn: () => T): T {
  const prev = shared;
  shared = null;
  try {
    return fn();
  } finally {
    shared = prev;
  }
}

const NO_SOURCE: LazySource = () => null;
let linearSources = process.env.PRIMAL_LINEARIZE_SOURCES === "1";

/**
 * Whether the equations of linearized programs (eager grad/vjp/linearize, built by partial
 * evaluation at every call) record their source lines. Capturing a stack costs ~25 µs on a
 * slow VM, per equation and per call, which is a third of an eager MLP training step, so it is
 * on only where someone looks at those lines: the kernel process (for the IR panel),
 * `primal run --ir`, or PRIMAL_LINEARIZE_SOURCES=1. Programs traced by jit (once per
 * signature) always record them.
 */
export function setLinearizeSources(on: boolean): void {
  linearSources = on;
}

/** captureSource() for an equation of a linearized program, or a null location when they are off. */
export function captureLinearSource(): LazySource {
  return linearSources ? captureSource() : NO_SOURCE;
}
