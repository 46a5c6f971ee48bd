// `print` and `display`, exported from "primal" for plain Node use. Inside a cell the runner
// redirects them (with console.log) to the cell's output through `setOutputSink`.
// print shows NumPy's str form; display shows JAX's repr, like a cell's last value.

import { inspect } from "node:util";
import { NDArray } from "../core/ndarray";
import { writeOutput } from "../core/output-sink";

// The sink itself lives in core (debug.print, in the transformations layer, writes to it too).
export { setOutputSink } from "../core/output-sink";
export type { OutputSink } from "../core/output-sink";

/** Formats values as print does: NDArrays in NumPy's str form, strings as-is, others inspected. */
export function formatPrintArgs(args: unknown[]): string {
  return args.map((a) => (typeof a === "string" ? a : a instanceof NDArray ? a.toString() : inspect(a, { depth: 6 }))).join(" ");
}

/** The JAX repr of a value: NDArrays as `Array(...)`, other values inspected. */
export function reprOf(x: unknown): string {
  if (x instanceof NDArray) return x.repr();
  if (typeof x === "string") return JSON.stringify(x);
  return inspect(x, { depth: 6 });
}

/** Prints values separated by spaces; arrays in NumPy's str layout (`[ 3  8 15]`). */
export function print(...args: unknown[]): void {
  writeOutput("print", formatPrintArgs(args));
}

/** Shows a value the way a cell's last expression is shown: JAX's repr (`Array([3, 8], dtype=int32)`). */
export function display(...args: unknown[]): void {
  for (const x of args) writeOutput("display", reprOf(x));
}
