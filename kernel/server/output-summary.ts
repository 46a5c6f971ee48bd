// Turns values a cell shows (its last value, `display(x)`) into bounded protocol records: an
// NDArray becomes shape/dtype/repr plus a table preview of its edges and, when affordable,
// min/max/mean; a plot record becomes its data; an array of plain records becomes a table.
// Nothing here serialises a large array whole: a 100M-element array costs one pass for the
// repr's edge items (NumPy's summarisation) and a few hundred preview elements.

import { NDArray } from "../core/ndarray";
import { Plot } from "../api/output";
import { ArrayOutput, ArrayPreview, ArrayStats, CellOutput, JsonNumber, OutputLimits, PlotOutput, TableOutput } from "../protocol";

/** The kernel's per-cell output limits (sent to the client in the initialize result). */
export const DEFAULT_LIMITS: OutputLimits = {
  batchIntervalMs: 50,
  maxLinesPerCell: 1000,
  tailLines: 20,
  maxDisplaysPerCell: 100,
  maxPreviewElements: 400,
};

/** Arrays up to this size get min/max/mean (one pass over the data). */
const STATS_MAX_SIZE = 10_000_000;
/** Rows of a table sent. */
const MAX_TABLE_ROWS = 200;
const MAX_TABLE_COLUMNS = 50;

/** NaN and ±Infinity as strings, since JSON has no such numbers. */
export function jsonNumber(v: number): JsonNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/** Indices 0..n-1, or the first and last `edge` of them when there are more than 2*edge. */
function edgeIndices(n: number, edge: number): number[] {
  if (n <= 2 * edge) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: edge }, (_, i) => i), ...Array.from({ length: edge }, (_, i) => n - edge + i)];
}

/** The 2-D preview of an array's host data (see {@link ArrayPreview}). */
export function arrayPreview(data: ArrayLike<number>, shape: readonly number[], isBool: boolean, maxElements: number): ArrayPreview {
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1];
  const size = shape.reduce((a, b) => a * b, 1);
  const rows = cols === 0 ? (shape.length ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1) : size / cols;
  const side = Math.max(1, Math.floor(Math.sqrt(maxElements) / 2));
  // A vector is one row: it may use the whole budget.
  const colIndex = edgeIndices(cols, rows === 1 ? Math.floor(maxElements / 2) : side);
  const rowIndex = edgeIndices(rows, Math.max(side, Math.floor(maxElements / 2 / Math.max(1, colIndex.length))));
  const values = rowIndex.map((r) => colIndex.map((c) => (isBool ? data[r * cols + c] !== 0 : jsonNumber(data[r * cols + c]))));
  return { rows, cols, rowIndex, colIndex, values, truncated: rowIndex.length * colIndex.length < size };
}

function arrayStats(data: ArrayLike<number>, isFloat: boolean): ArrayStats | undefined {
  if (data.length === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let nan = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== v) {
      nan++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const n = data.length - nan;
  const stats: ArrayStats = n === 0 ? { min: "NaN", max: "NaN", mean: "NaN" } : { min: jsonNumber(min), max: jsonNumber(max), mean: jsonNumber(sum / n) };
  if (isFloat) stats.nanCount = nan;
  return stats;
}

/** The protocol record of an NDArray. `repr` is computed by the caller's formatter. */
export function arrayOutput(x: NDArray, limits: OutputLimits = DEFAULT_LIMITS): ArrayOutput {
  const data = x.dataSync();
  const isBool = x.dtype.isBool;
  const out: ArrayOutput = {
    kind: "array",
    shape: [...x.shape],
    dtype: x.dtype.name,
    size: x.size,
    device: String(x.device),
    repr: x.repr(),
    preview: arrayPreview(data, x.shape, isBool, limits.maxPreviewElements),
  };
  if (!isBool && x.size <= STATS_MAX_SIZE) out.stats = arrayStats(data, x.dtype.name.startsWith("float") || x.dtype.name.startsWith("bfloat"));
  return out;
}

function plotOutput(p: Plot): PlotOutput {
  const d = p.data;
  return {
    kind: "plot",
    plot: {
      type: d.type,
      title: d.title,
      xLabel: d.xLabel,
      yLabel: d.yLabel,
      series: d.series?.map((s) => ({ name: s.name, x: s.x.map(jsonNumber), y: s.y.map(jsonNumber) })),
      bins: d.bins,
      downsampledFrom: d.downsampledFrom ?? 0,
    },
  };
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as object | null;
  // Cells live in another realm: their object literals have that realm's Object.prototype.
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function tableCell(v: unknown): JsonNumber | string | boolean | null {
  if (typeof v === "number") return jsonNumber(v);
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (v === null || v === undefined) return null;
  if (v instanceof NDArray && v.size === 1) return v.dtype.isBool ? Boolean(v.item()) : jsonNumber(Number(v.item()));
  return String(v);
}

/** A table for an array of plain records (`[{ step, loss }, ...]`); null for anything else. */
function tableOutput(v: unknown): TableOutput | null {
  if (!Array.isArray(v) || v.length === 0 || !v.every(isPlainRecord)) return null;
  const columns: string[] = [];
  for (const r of v.slice(0, MAX_TABLE_ROWS) as Record<string, unknown>[])
    for (const k of Object.keys(r)) if (!columns.includes(k) && columns.length < MAX_TABLE_COLUMNS) columns.push(k);
  const rows = (v.slice(0, MAX_TABLE_ROWS) as Record<string, unknown>[]).map((r) => columns.map((c) => tableCell(r[c])));
  return { kind: "table", columns, rows, totalRows: v.length };
}

/** The rich record of a shown value, or null when its repr text is all there is. */
export function richOutput(v: unknown, limits: OutputLimits = DEFAULT_LIMITS): CellOutput | null {
  if (v instanceof Plot) return plotOutput(v);
  if (v instanceof NDArray) {
    try {
      return arrayOutput(v, limits);
    } catch {
      return null; // a disposed or abstract array: its repr says so
    }
  }
  return tableOutput(v);
}
