// The gradients panel's view model: pure functions from the kernel's GradientRecords
// (kernel/protocol.ts) to what the panel draws — which records belong to the last run, the
// series behind the sparklines, the leaf rows in the user's sort order. Kept free of the DOM so
// that the ordering and the numbers can be checked without rendering, and so that the DOM code
// stays a thin layer over data that was already decided here.

import type { GradLeafInfo, GradientRecord, GradientRecordsResult, JsonNumber } from "../../kernel/protocol";
import { toNumber } from "../common/dom";

/** A JsonNumber as a JS number (NaN and ±Infinity back from their strings); absent is null. */
export const num = (x: JsonNumber | null | undefined): number | null => (x === null || x === undefined ? null : toNumber(x));

/** A value a sparkline can plot: finite numbers; NaN, infinities and gaps become null (a break in the line). */
export function plottable(x: JsonNumber | null | undefined): number | null {
  const v = num(x);
  return v !== null && Number.isFinite(v) ? v : null;
}

/** Records split into the last run's (shown first, highlighted) and earlier runs' (dimmed, under a divider). */
export interface RecordGroups {
  current: GradientRecord[];
  earlier: GradientRecord[];
}

/**
 * Splits the records by run, each group keeping the kernel's order (newest call first). Without a
 * `lastRunId` (no cell runs tagged, e.g. the library used directly) every record counts as current:
 * dimming them all would hide the only data there is.
 */
export function groupRecords(data: GradientRecordsResult): RecordGroups {
  const { records, lastRunId } = data;
  if (lastRunId === undefined) return { current: [...records], earlier: [] };
  const current: GradientRecord[] = [];
  const earlier: GradientRecord[] = [];
  for (const r of records) (r.last.runId === lastRunId ? current : earlier).push(r);
  return { current, earlier };
}

/** The loss over the record's history, one point per kept call (oldest first); null where it is unknown or not finite. */
export const lossSeries = (r: GradientRecord): (number | null)[] => r.history.map((h) => plottable(h.value));

/** The global gradient norm over the record's history. */
export const globalNormSeries = (r: GradientRecord): (number | null)[] => r.history.map((h) => plottable(h.globalNorm));

/** One leaf's norm over the record's history (`k` indexes `last.leaves`, which `history[i].norms` follows). */
export const leafNormSeries = (r: GradientRecord, k: number): (number | null)[] => r.history.map((h) => plottable(h.norms[k] ?? null));

/** Whether any point of a series can be drawn (a sparkline of nothing is left out). */
export const hasPoints = (s: (number | null)[]): boolean => s.some((v) => v !== null);

/** The steps the history covers, for the sparklines' titles: "steps 3–202". */
export function stepRange(r: GradientRecord): string {
  if (r.history.length === 0) return "no steps";
  const a = r.history[0].step;
  const b = r.history[r.history.length - 1].step;
  return a === b ? `step ${a}` : `steps ${a}–${b}`;
}

/** Columns the leaf table sorts by. */
export type SortKey = "index" | "path" | "size" | "norm" | "min" | "max" | "mean" | "zeros" | "nan" | "inf";

/** The leaf table's sort: the key and its direction. "index" is the kernel's order (the pytree's). */
export interface LeafSort {
  key: SortKey;
  dir: "asc" | "desc";
}

export const DEFAULT_SORT: LeafSort = { key: "index", dir: "asc" };

/** A leaf with its position in `last.leaves` (history norms are indexed by it). */
export interface LeafRow {
  index: number;
  leaf: GradLeafInfo;
}

/** Element count of a shape. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Whether the leaf's gradient has NaN or infinite elements. */
export const leafIsBad = (l: GradLeafInfo): boolean => !!l.stats && (l.stats.nanCount > 0 || l.stats.infCount > 0);

function sortValue(row: LeafRow, key: SortKey): number | string | null {
  const s = row.leaf.stats;
  switch (key) {
    case "index": return row.index;
    case "path": return row.leaf.path;
    case "size": return sizeOf(row.leaf.shape);
    case "norm": return s ? num(s.l2) : null;
    case "min": return s ? num(s.min) : null;
    case "max": return s ? num(s.max) : null;
    case "mean": return s ? num(s.mean) : null;
    case "zeros": return s ? s.zeroFraction : null;
    case "nan": return s ? s.nanCount : null;
    case "inf": return s ? s.infCount : null;
  }
}

/** Path comparison that orders `params[2]` before `params[10]`. */
const collator = new Intl.Collator("en", { numeric: true });

/**
 * The leaves in the table's order. Leaves without a value (no statistics) always go last, then
 * NaN, whatever the direction: the question a sort answers is "which leaf is largest/smallest",
 * and a missing value is neither. Ties keep the pytree order.
 */
export function sortLeaves(leaves: readonly GradLeafInfo[], sort: LeafSort): LeafRow[] {
  const rows = leaves.map((leaf, index) => ({ index, leaf }));
  const sign = sort.dir === "asc" ? 1 : -1;
  const rank = (v: number | string | null) => (v === null ? 2 : typeof v === "number" && Number.isNaN(v) ? 1 : 0);
  return rows.sort((a, b) => {
    const va = sortValue(a, sort.key);
    const vb = sortValue(b, sort.key);
    const ra = rank(va);
    const rb = rank(vb);
    if (ra !== rb) return ra - rb;
    if (ra === 0 && va !== vb) {
      const c = typeof va === "string" && typeof vb === "string" ? collator.compare(va, vb) : (va as number) < (vb as number) ? -1 : (va as number) > (vb as number) ? 1 : 0;
      if (c !== 0) return sign * c;
    }
    return a.index - b.index;
  });
}

/** The next sort after clicking a column header: a new column sorts descending for numbers (largest first), ascending for paths; the same column flips. */
export function nextSort(cur: LeafSort, key: SortKey): LeafSort {
  if (cur.key === key) return { key, dir: cur.dir === "asc" ? "desc" : "asc" };
  return { key, dir: key === "path" || key === "index" ? "asc" : "desc" };
}

/** NaN/Inf totals over a record's leaves, for the header's warning badge. */
export function badTotals(r: GradientRecord): { nan: number; inf: number; leaves: number } {
  let nan = 0, inf = 0, leaves = 0;
  for (const l of r.last.leaves) {
    if (!l.stats) continue;
    nan += l.stats.nanCount;
    inf += l.stats.infCount;
    if (leafIsBad(l)) leaves++;
  }
  return { nan, inf, leaves };
}

/** A shape as the table shows it: `[2,3]`, `[]` for a scalar (the dtype has its own column). */
export const shapeText = (shape: readonly number[]): string => `[${shape.join(",")}]`;

/** The leaf table's size past which it is a virtualised table instead of the toolkit's data grid (which renders every row). */
export const VIRTUAL_THRESHOLD = 200;

/** What the panel keeps across hide/reload through the bridge's state. */
export interface GradientsViewState {
  /** Records the user opened or closed, by id: true open, false closed. Unlisted records follow the default (last run open). */
  expanded: Record<string, boolean>;
  sort: LeafSort;
}

export const initialViewState = (): GradientsViewState => ({ expanded: {}, sort: { ...DEFAULT_SORT } });

const SORT_KEYS: readonly string[] = ["index", "path", "size", "norm", "min", "max", "mean", "zeros", "nan", "inf"];

/** A persisted state as read back (it comes from storage: checked, not trusted). */
export function restoreViewState(s: unknown): GradientsViewState {
  const out = initialViewState();
  if (typeof s !== "object" || s === null) return out;
  const o = s as { expanded?: unknown; sort?: unknown };
  if (typeof o.expanded === "object" && o.expanded !== null)
    for (const [k, v] of Object.entries(o.expanded)) if (/^\d+$/.test(k) && typeof v === "boolean") out.expanded[k] = v;
  const sort = o.sort as { key?: unknown; dir?: unknown } | undefined;
  if (sort && SORT_KEYS.includes(sort.key as string) && (sort.dir === "asc" || sort.dir === "desc")) out.sort = { key: sort.key as SortKey, dir: sort.dir };
  return out;
}

/** Whether a record is shown open: the user's choice, else open for the last run's records. */
export const isExpanded = (state: GradientsViewState, id: number, current: boolean): boolean => state.expanded[String(id)] ?? current;
