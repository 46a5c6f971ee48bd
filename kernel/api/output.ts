// `print` and `display`, exported from "primal" for plain Node use. Inside a cell the runner
// redirects them (with console.log) to the cell's output through `setOutputSink`.
// print shows NumPy's str form; display shows JAX's repr, like a cell's last value.
// `plot.line/scatter/hist` build plot records that `display` shows (the editor draws them).

import { inspect } from "node:util";
import { NDArray } from "../core/ndarray";
import { writeOutput } from "../core/output-sink";
import { ArgumentError, ValueError } from "../core/errors";

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

// ---- plots -------------------------------------------------------------------------------
// `display(plot.line(losses, { title: "loss" }))`: a plot is a small data record (downsampled
// series or histogram counts), not a picture; the editor draws it as SVG. Outside the editor
// it prints as a one-line summary.

/** What a plot shows. Numbers are plain (NaN/Infinity are turned into strings only on the wire). */
export interface PlotData {
  type: "line" | "scatter" | "hist";
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series?: { name?: string; x: number[]; y: number[] }[];
  bins?: { edges: number[]; counts: number[] };
  /** The point count before downsampling (0 when nothing was dropped). */
  downsampledFrom?: number;
}

/** Options shared by the plot helpers. */
export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Series name (legend). */
  name?: string;
}

/** Points kept per series: beyond this a line is reduced to min/max per bucket, so spikes stay visible. */
export const MAX_PLOT_POINTS = 2000;

/** A plot record, made by `plot.line`, `plot.scatter` or `plot.hist`; show it with `display`. */
export class Plot {
  constructor(readonly data: PlotData) {}
  toString(): string {
    const d = this.data;
    const n = d.type === "hist" ? `${d.bins?.counts.length ?? 0} bins` : `${(d.series ?? []).reduce((s, x) => s + x.x.length, 0)} points`;
    return `Plot(${d.type}, ${n}${d.title ? `, "${d.title}"` : ""})`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

type Numbers = NDArray | ArrayLike<number> | readonly number[];

function toNumbers(x: Numbers, op: string): number[] {
  if (x instanceof NDArray) return Array.from(x.dataSync(), Number);
  if (x !== null && typeof x === "object" && typeof (x as ArrayLike<number>).length === "number") return Array.from(x as ArrayLike<number>, Number);
  throw new ArgumentError(`${op}: expected an array of numbers or an NDArray, got ${typeof x}`);
}

/** Keeps the first and last point and, per bucket, the minimum and maximum (in x order). */
function downsample(x: number[], y: number[], max: number): { x: number[]; y: number[] } {
  if (y.length <= max) return { x, y };
  const buckets = Math.floor(max / 2);
  const ox: number[] = [];
  const oy: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * y.length) / buckets);
    const hi = Math.floor(((b + 1) * y.length) / buckets);
    let iMin = lo;
    let iMax = lo;
    for (let i = lo; i < hi; i++) {
      if (y[i] < y[iMin] || Number.isNaN(y[iMin])) iMin = i;
      if (y[i] > y[iMax] || Number.isNaN(y[iMax])) iMax = i;
    }
    for (const i of iMin <= iMax ? [iMin, iMax] : [iMax, iMin]) {
      if (ox.length && ox[ox.length - 1] === x[i]) continue;
      ox.push(x[i]);
      oy.push(y[i]);
    }
  }
  return { x: ox, y: oy };
}

function labels(o: PlotOptions): Pick<PlotData, "title" | "xLabel" | "yLabel"> {
  return { title: o.title, xLabel: o.xLabel, yLabel: o.yLabel };
}

/** Plot helpers: each returns a {@link Plot} record for `display`. */
export const plot = {
  /** A line: `plot.line(ys)` against 0..n-1, or `plot.line(xs, ys)`. */
  line(a: Numbers, b?: Numbers | PlotOptions, opts: PlotOptions = {}): Plot {
    return xyPlot("line", a, b, opts);
  },
  /** Points: `plot.scatter(xs, ys)`. */
  scatter(a: Numbers, b?: Numbers | PlotOptions, opts: PlotOptions = {}): Plot {
    return xyPlot("scatter", a, b, opts);
  },
  /** A histogram of the finite values of `x` over `bins` equal bins (default 30). */
  hist(x: Numbers, opts: PlotOptions & { bins?: number } = {}): Plot {
    const bins = opts.bins ?? 30;
    if (!Number.isInteger(bins) || bins < 1) throw new ValueError(`plot.hist: bins must be a positive integer, got ${bins}`);
    const v = toNumbers(x, "plot.hist").filter(Number.isFinite);
    let lo = Infinity;
    let hi = -Infinity;
    for (const t of v) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    if (!v.length) lo = hi = 0;
    if (lo === hi) (lo -= 0.5), (hi += 0.5);
    const edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
    const counts = new Array<number>(bins).fill(0);
    for (const t of v) counts[Math.min(bins - 1, Math.floor(((t - lo) / (hi - lo)) * bins))]++;
    return new Plot({ type: "hist", ...labels(opts), bins: { edges, counts } });
  },
};

function xyPlot(type: "line" | "scatter", a: Numbers, b: Numbers | PlotOptions | undefined, opts: PlotOptions): Plot {
  const op = `plot.${type}`;
  const hasX = b !== undefined && (b instanceof NDArray || typeof (b as ArrayLike<number>).length === "number");
  const y = toNumbers(hasX ? (b as Numbers) : a, op);
  const x = hasX ? toNumbers(a, op) : y.map((_, i) => i);
  if (!hasX && b !== undefined) opts = b as PlotOptions;
  if (x.length !== y.length) throw new ValueError(`${op}: x and y must have the same length, got ${x.length} and ${y.length}`);
  const d = type === "line" ? downsample(x, y, MAX_PLOT_POINTS) : { x: x.slice(0, MAX_PLOT_POINTS * 5), y: y.slice(0, MAX_PLOT_POINTS * 5) };
  return new Plot({
    type,
    ...labels(opts),
    series: [{ name: opts.name, x: d.x, y: d.y }],
    downsampledFrom: d.x.length < x.length ? x.length : 0,
  });
}
