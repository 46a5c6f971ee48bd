// Text formatting of arrays: NumPy's str() (what print shows) and JAX's Array repr.
// This re-implements the behaviour of numpy's arrayprint (FloatingFormat in 'maxprec' mode,
// IntegerFormat, BoolFormat, summarisation and line wrapping) so that Primal prints exactly what a
// JAX user would see. Floats print the shortest digits that round-trip *through the array's dtype*
// (float32 0.1 prints `0.1`), which is what numpy's Dragon4 does for each float type.

import { DType } from "./dtype";
import { ArgumentError, ValueError } from "./errors";
import { checkOptions, describeValue } from "./shape";

/** Print options, as `np.set_printoptions`. */
export interface PrintOptions {
  /** Most fractional digits a float shows (numpy's default 8). */
  precision: number;
  /** Arrays with more elements than this are summarised with `...`. */
  threshold: number;
  /** Elements kept at each end of a summarised axis. */
  edgeitems: number;
  /** Characters per line before wrapping. */
  linewidth: number;
  /** Never use scientific notation for small values; print them as zeros at `precision`. */
  suppress: boolean;
}

const DEFAULT_OPTIONS: PrintOptions = { precision: 8, threshold: 1000, edgeitems: 3, linewidth: 75, suppress: false };
let options: PrintOptions = { ...DEFAULT_OPTIONS };

/** What each print option accepts (threshold is checked below: it may also be Infinity). */
const OPTION_SPEC = { precision: "count", threshold: "any", edgeitems: "count", linewidth: "count", suppress: "boolean" } as const;

/**
 * Sets some print options, like `np.set_printoptions`; the others keep their values (an option
 * given as undefined or null is left as it is). `threshold` may be Infinity (numpy's np.inf:
 * never summarise).
 */
export function setPrintOptions(opts: Partial<PrintOptions>): void {
  const given = checkOptions<Partial<PrintOptions>>("setPrintOptions", opts, OPTION_SPEC);
  const t = given.threshold as unknown;
  if (t !== undefined && t !== null && !(typeof t === "number" && ((Number.isInteger(t) && t >= 0) || t === Infinity))) {
    const msg = `setPrintOptions: option threshold must be a non-negative integer or Infinity, got ${describeValue(t)}`;
    throw typeof t === "number" ? new ValueError(msg) : new ArgumentError(msg);
  }
  const next = { ...options };
  for (const key of Object.keys(OPTION_SPEC) as (keyof PrintOptions)[]) {
    const v = given[key];
    if (v !== undefined && v !== null) (next as Record<string, unknown>)[key] = v;
  }
  options = next;
}

/** The current print options (a copy). */
export function getPrintOptions(): PrintOptions {
  return { ...options };
}

// ---- Rounding to the narrow float types ------------------------------------------------------

/** Rounds a double to one of the float dtypes (nearest, ties to even). A decimal identifies a
 *  value when it rounds back to it this way; numpy's Dragon4 uses the same test (its bounds are
 *  inclusive for even mantissas, as IEEE ties-to-even rounding is). */
type Quantize = (v: number) => number;

function makeQuantize(mantBits: number, minExp: number, maxExp: number): Quantize {
  const overflow = 2 ** (maxExp + 1);
  return (v) => {
    if (!Number.isFinite(v) || v === 0) return v;
    const a = Math.abs(v);
    let e = Math.floor(Math.log2(a));
    // log2 can be off by one next to powers of two.
    if (2 ** e > a) e--;
    else if (2 ** (e + 1) <= a) e++;
    const ulp = 2 ** (Math.max(e, minExp) - mantBits);
    const q = a / ulp; // exact: scaling by a power of two
    const fl = Math.floor(q);
    const diff = q - fl;
    const n = diff > 0.5 || (diff === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
    const r = n * ulp;
    return (r >= overflow ? Infinity : r) * Math.sign(v);
  };
}

const QUANTIZE: Record<string, Quantize> = {
  float32: Math.fround,
  float16: makeQuantize(10, -14, 15),
  bfloat16: makeQuantize(7, -126, 127),
};

function quantizerFor(dtype: DType): Quantize {
  return QUANTIZE[dtype.name] ?? QUANTIZE.float32;
}

// ---- Decimal digit strings -------------------------------------------------------------------

/** A non-negative decimal: value = 0.d1d2d3... x 10^point. `digits` has no leading or trailing
 *  zeros; "" is zero. */
interface Dec {
  digits: string;
  point: number;
}

function makeDec(digits: string, point: number): Dec {
  const lead = digits.length - digits.replace(/^0+/, "").length;
  const body = digits.slice(lead).replace(/0+$/, "");
  return body === "" ? { digits: "", point: 0 } : { digits: body, point: point - lead };
}

const f64 = new DataView(new ArrayBuffer(8));

/** The exact decimal expansion of |x| (every finite double has one). */
function exactDec(x: number): Dec {
  f64.setFloat64(0, Math.abs(x));
  const hi = f64.getUint32(0);
  const lo = f64.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2 = -1074;
  if (biased !== 0) (mant |= 1n << 52n), (e2 = biased - 1075);
  if (mant === 0n) return { digits: "", point: 0 };
  if (e2 >= 0) {
    const s = (mant << BigInt(e2)).toString();
    return makeDec(s, s.length);
  }
  // m x 2^-k = m x 5^k / 10^k.
  const s = (mant * 5n ** BigInt(-e2)).toString();
  return makeDec(s, s.length + e2);
}

/** The first `keep` digits of d, plus one unit in the last kept place when `up`. */
function truncate(d: Dec, keep: number, up: boolean): Dec {
  const head = d.digits.slice(0, Math.max(keep, 0));
  if (!up) return makeDec(head, d.point);
  const inc = (BigInt(head === "" ? "0" : head) + 1n).toString();
  // A carry (99 -> 100) moves the point; an empty head (keep <= 0) rounds up to one unit.
  return makeDec(inc, d.point + inc.length - head.length + Math.min(keep, 0));
}

/** Whether keeping `keep` digits of d rounds up (half to even, as Dragon4 rounds at a cutoff). */
function roundsUp(d: Dec, keep: number): boolean {
  if (d.digits.length <= keep) return false;
  if (keep < 0) return false;
  const next = d.digits.charCodeAt(keep) - 48;
  if (next !== 5) return next > 5;
  if (/[1-9]/.test(d.digits.slice(keep + 1))) return true;
  return keep > 0 && (d.digits.charCodeAt(keep - 1) - 48) % 2 === 1;
}

/** Keeps the first `keep` digits, rounding the rest half to even. */
function roundDec(d: Dec, keep: number): Dec {
  if (d.digits.length <= keep) return d;
  if (keep < 0) return { digits: "", point: 0 };
  return truncate(d, keep, roundsUp(d, keep));
}

function decValue(d: Dec): number {
  return d.digits === "" ? 0 : Number(`0.${d.digits}e${d.point}`);
}

/** Shortest digits that identify |x| among the values of its float type (Dragon4's "unique"
 *  mode; ex is x's exact expansion). At each length both neighbouring decimals are candidates:
 *  the nearer wins (ties to even digit), but the farther one is taken when only it identifies x,
 *  which happens where the rounding interval is lopsided (at powers of two). */
function shortestDec(ex: Dec, quantize: Quantize): Dec {
  const a = decValue(ex);
  if (a === 0) return ex;
  for (let p = 1; p < ex.digits.length; p++) {
    const up = roundsUp(ex, p);
    const near = truncate(ex, p, up);
    if (quantize(decValue(near)) === a) return near;
    const far = truncate(ex, p, !up);
    if (quantize(decValue(far)) === a) return far;
  }
  return ex;
}

/** Digits of |x| positionally with at most `maxFrac` fractional digits (shortest when those
 *  suffice, else the exact value rounded). With `wholeInt` (numpy's min_digits=0, used when it
 *  lays out array elements) all integer digits are true digits: float16 42752 prints "42752."
 *  although its shortest digits are 4275e1. */
function positionalDec(x: number, q: Quantize, maxFrac: number, wholeInt = false): Dec {
  const ex = exactDec(x);
  const d = shortestDec(ex, q);
  if (d.digits.length - d.point > maxFrac) return roundDec(ex, ex.point + maxFrac);
  if (wholeInt && d.digits.length < d.point) return roundDec(ex, ex.point);
  return d;
}

/** Digits of |x| in scientific notation with at most `maxFrac` digits after the first. With
 *  `exactFrac`, exactly that many: Dragon4's min_digits generates further true digits of the
 *  value (9.3383308e+01 for float32 93.38331), it does not pad the shortest digits with zeros. */
function scientificDec(x: number, q: Quantize, maxFrac: number, exactFrac = false): Dec {
  const ex = exactDec(x);
  const d = shortestDec(ex, q);
  const frac = d.digits.length - 1;
  if (frac === maxFrac || (frac < maxFrac && !exactFrac)) return d;
  return roundDec(ex, maxFrac + 1);
}

function signOf(x: number): string {
  return x < 0 || Object.is(x, -0) ? "-" : "";
}

/** Integer and fraction parts (without the point) of a positional decimal. */
function positionalParts(d: Dec): [string, string] {
  const int = d.point <= 0 || d.digits === "" ? "0" : d.digits.slice(0, d.point).padEnd(d.point, "0");
  const frac = d.point >= d.digits.length ? "" : d.point < 0 ? "0".repeat(-d.point) + d.digits : d.digits.slice(d.point);
  return [int, frac];
}

/** Mantissa digits (first, rest) and decimal exponent of a scientific decimal. */
function scientificParts(d: Dec): [string, string, number] {
  if (d.digits === "") return ["0", "", 0];
  return [d.digits[0], d.digits.slice(1), d.point - 1];
}

function expString(exp: number, minDigits: number): string {
  return (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(minDigits, "0");
}

// ---- Element formatters (numpy's FloatingFormat, IntegerFormat, BoolFormat) ------------------

type ElementFormat = (v: number) => string;

/** numpy's FloatingFormat in 'maxprec' mode: the layout (notation, paddings, digits) is decided
 *  once from the elements that will be shown, then every element is laid out the same way. */
function floatFormat(shown: number[], q: Quantize, opts: PrintOptions, cutoff: number): ElementFormat {
  const finite = shown.filter(Number.isFinite);
  const nonzero = finite.filter((v) => v !== 0).map(Math.abs);
  let sci = false;
  if (nonzero.length > 0) {
    let max = nonzero[0];
    let min = nonzero[0];
    for (const v of nonzero) (max = Math.max(max, v)), (min = Math.min(min, v));
    // numpy compares in the array's own dtype (the Python constants become that dtype). The
    // cutoff is numpy >= 2.3's 10**min(8, finfo.precision): 1e6 for float32, 1e3 for float16,
    // which is what JAX 0.11 prints (checked against it in test/reference).
    sci = max >= q(cutoff) || (!opts.suppress && (min < q(1e-4) || q(max / min) > 1000));
  }
  const prec = opts.precision;
  let padLeft = 0;
  let padRight = 0;
  let fracDigits = 0; // scientific: digits after the point, shared by all elements
  let expDigits = 2;
  if (finite.length > 0) {
    for (const v of finite) {
      if (sci) {
        const [, rest, exp] = scientificParts(scientificDec(v, q, prec));
        padLeft = Math.max(padLeft, signOf(v).length + 1);
        fracDigits = Math.max(fracDigits, rest.length);
        expDigits = Math.max(expDigits, String(Math.abs(exp)).length);
      } else {
        const [int, frac] = positionalParts(positionalDec(v, q, prec));
        padLeft = Math.max(padLeft, signOf(v).length + int.length);
        padRight = Math.max(padRight, frac.length);
      }
    }
    if (sci) padRight = expDigits + 2 + fracDigits; // only used to size nan/inf
  }
  if (finite.length !== shown.length) {
    // Widen so that "nan", "inf" and "-inf" fit the column.
    const negInf = shown.some((v) => v === -Infinity) ? 1 : 0;
    padLeft = Math.max(padLeft, 3 + negInf - (padRight + 1));
  }
  return (v) => {
    if (!Number.isFinite(v)) {
      const s = Number.isNaN(v) ? "nan" : v < 0 ? "-inf" : "inf";
      return s.padStart(padLeft + padRight + 1);
    }
    if (sci) {
      const [first, rest, exp] = scientificParts(scientificDec(v, q, fracDigits, true));
      return (signOf(v) + first).padStart(padLeft) + "." + rest.padEnd(fracDigits, "0") + "e" + expString(exp, expDigits);
    }
    const [int, frac] = positionalParts(positionalDec(v, q, prec, true));
    return (signOf(v) + int).padStart(padLeft) + "." + frac.padEnd(padRight);
  };
}

/** numpy's IntegerFormat: right-aligned to the widest of str(max) and str(min). */
function intFormat(shown: number[]): ElementFormat {
  let max = -Infinity;
  let min = Infinity;
  for (const v of shown) (max = Math.max(max, v)), (min = Math.min(min, v));
  const width = Math.max(String(max).length, String(min).length);
  return (v) => String(v).padStart(width);
}

/** numpy's BoolFormat: " True" lines up with "False", except in a 0-d array. */
function boolFormat(zeroDim: boolean): ElementFormat {
  const t = zeroDim ? "True" : " True";
  return (v) => (v ? t : "False");
}

/** One bfloat16 element. ml_dtypes' bfloat16 is not a numpy floating type, so numpy prints each
 *  element with the scalar's own repr, unpadded: C++ `ostream << float`, i.e. printf("%g") with
 *  6 significant digits ("0.100098", "1", "1.00136e-05"). JAX shows exactly this. */
function bfloat16Str(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v < 0 ? "-inf" : "inf";
  const d = roundDec(exactDec(v), 6); // printf rounds the exact value, half to even
  const exp = d.digits === "" ? 0 : d.point - 1;
  if (exp >= -4 && exp < 6) {
    const [int, frac] = positionalParts(d);
    return signOf(v) + int + (frac ? "." + frac : "");
  }
  const [first, rest] = scientificParts(d);
  return signOf(v) + first + (rest ? "." + rest : "") + "e" + expString(exp, 2);
}

/** The dtype's value of each element (callers pass decoded values; re-rounding guards against
 *  values that were never narrowed, so the shortest-digits search sees a real dtype value). */
function toDTypeValue(v: number, dtype: DType, q: Quantize): number {
  if (dtype.isBool) return v ? 1 : 0;
  if (dtype.isFloat) return q(v);
  return v;
}

// ---- Array layout (numpy's _formatArray) -------------------------------------------------------

/** numpy's array2string for a non-empty array: summarises, picks the element format from the
 *  shown elements, and lays out rows with wrapping. `prefixLen` is the width of the text that will
 *  precede the result (continuation lines are indented past it). */
function array2string(
  values: ArrayLike<number>, shape: readonly number[], dtype: DType, separator: string, prefixLen: number, lineWidth: number,
): string {
  const opts = options;
  const q = quantizerFor(dtype);
  const size = shape.reduce((a, b) => a * b, 1);
  const summarise = size > opts.threshold;
  const edge = opts.edgeitems;
  const ndim = shape.length;
  const strides: number[] = new Array(ndim);
  for (let ax = ndim - 1, s = 1; ax >= 0; ax--) (strides[ax] = s), (s *= shape[ax]);
  const at = (offset: number) => toDTypeValue(values[offset], dtype, q);

  // Indices shown along an axis: all, or the leading and trailing edge items.
  const shownIndices = (n: number): number[] => {
    const all = Array.from({ length: n }, (_, i) => i);
    return summarise && n > 2 * edge ? [...all.slice(0, edge), ...all.slice(n - edge)] : all;
  };
  // The format is decided by the shown elements only (numpy's _leading_trailing).
  const shown: number[] = [];
  const collect = (axis: number, offset: number): void => {
    if (axis === ndim) return void shown.push(at(offset));
    for (const i of shownIndices(shape[axis])) collect(axis + 1, offset + i * strides[axis]);
  };
  collect(0, 0);
  const fmt: ElementFormat = dtype.isBool ? boolFormat(ndim === 0)
    : dtype.name === "bfloat16" ? bfloat16Str
    : dtype.isFloat ? floatFormat(shown, q, opts, sciCutoff(dtype))
    : intFormat(shown);

  // Appends a word to the current line, wrapping first if it would pass the width (but never
  // wrapping a line that holds only its indent, since that would not help).
  const extend = (st: { s: string; line: string }, word: string, width: number, indent: string): void => {
    if (st.line.length + word.length > width && st.line.length > indent.length) {
      st.s += st.line.trimEnd() + "\n";
      st.line = indent;
    }
    st.line += word;
  };

  const recurse = (axis: number, offset: number, indent: string, width: number): string => {
    if (axis === ndim) return fmt(at(offset));
    const nextIndent = indent + " "; // aligns with the "[" this level adds
    const nextWidth = width - 1; // leaves room for this level's "]"
    const n = shape[axis];
    const showSummary = summarise && 2 * edge < n;
    const lead = showSummary ? edge : 0;
    const trailStart = showSummary ? n - edge : 0;
    const axesLeft = ndim - axis;
    const item = (i: number) => recurse(axis + 1, offset + i * strides[axis], nextIndent, nextWidth);
    let s: string;
    if (axesLeft === 1) {
      const elemWidth = width - Math.max(separator.trimEnd().length, 1);
      const st = { s: "", line: indent };
      for (let i = 0; i < lead; i++) (extend(st, item(i), elemWidth, indent), (st.line += separator));
      if (showSummary) (extend(st, "...", elemWidth, indent), (st.line += separator));
      for (let i = trailStart; i < n - 1; i++) (extend(st, item(i), elemWidth, indent), (st.line += separator));
      extend(st, item(n - 1), elemWidth, indent);
      s = st.s + st.line;
    } else {
      // Rows are separated by the separator and ndim-1-axis newlines (blank lines between blocks).
      const lineSep = separator.trimEnd() + "\n".repeat(axesLeft - 1);
      s = "";
      for (let i = 0; i < lead; i++) s += indent + item(i) + lineSep;
      if (showSummary) s += indent + "..." + lineSep;
      for (let i = trailStart; i < n - 1; i++) s += indent + item(i) + lineSep;
      s += indent + item(n - 1);
    }
    return "[" + s.slice(indent.length) + "]";
  };
  return recurse(0, 0, " ".repeat(prefixLen + 1), lineWidth);
}

/** Where numpy (>= 2.3) switches floats to scientific notation: 10**min(8, finfo(dtype).precision). */
function sciCutoff(dtype: DType): number {
  return dtype.name === "float16" ? 1e3 : 1e6;
}

/** str() of a float scalar, as numpy's scalar str: positional for 1e-4 <= |x| < cutoff (or 0) with
 *  at least one fractional digit ("1.0"), otherwise scientific without trailing zeros ("1e-05");
 *  all shortest round-trip digits, no precision cap. */
function floatScalarStr(v: number, q: Quantize, cutoff: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v < 0 ? "-inf" : "inf";
  const a = Math.abs(v);
  const d = shortestDec(exactDec(v), q);
  if (a === 0 || (a >= 1e-4 && a < cutoff)) {
    const [int, frac] = positionalParts(d);
    return `${signOf(v)}${int}.${frac || "0"}`;
  }
  const [first, rest, exp] = scientificParts(d);
  return `${signOf(v)}${first}${rest ? "." + rest : ""}e${expString(exp, 2)}`;
}

/** Checks that there are values for every element of `shape`; returns the size. */
function checkValues(op: string, values: ArrayLike<number>, shape: readonly number[]): number {
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length < size) throw new ValueError(`${op}: shape [${shape.join(", ")}] needs ${size} values, got ${values.length}`);
  return size;
}

/** NumPy's str(): what print(x) shows, e.g. "[ 3  8 15]", "[[1. 2.]\n [3. 4.]]", "3.5", "True".
 *  `values` are the decoded elements in row-major order (bools as 0/1, float16/bfloat16 decoded). */
export function formatStr(values: ArrayLike<number>, shape: readonly number[], dtype: DType): string {
  const size = checkValues("formatStr", values, shape);
  if (shape.length === 0) {
    // A 0-d array prints like its scalar: floats are not cut to `precision`.
    const v = values[0];
    if (dtype.isBool) return v ? "True" : "False";
    if (dtype.name === "bfloat16") return bfloat16Str(QUANTIZE.bfloat16(v));
    if (dtype.isFloat) {
      const q = quantizerFor(dtype);
      return floatScalarStr(q(v), q, sciCutoff(dtype));
    }
    return String(v);
  }
  if (size === 0) return "[]";
  return array2string(values, shape, dtype, " ", 0, options.linewidth);
}

/** JAX's repr: "Array([ 3,  8, 15], dtype=int32)", "Array(2, dtype=int32, weak_type=True)",
 *  "Array([[1., 2.],\n       [3., 4.]], dtype=float32)". Empty arrays show their shape:
 *  "Array([], shape=(0, 3), dtype=float32)". */
export function formatRepr(values: ArrayLike<number>, shape: readonly number[], dtype: DType, weakType: boolean): string {
  const size = checkValues("formatRepr", values, shape);
  const prefix = "Array(";
  const dtypeStr = `dtype=${dtype.name}${weakType ? ", weak_type=True" : ""})`;
  const lineWidth = options.linewidth;
  const pyShape = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  // JAX calls np.array2string(prefix="Array(", suffix=","), and the suffix narrows each line by 1.
  const s = size === 0 ? `[], shape=${pyShape}` : array2string(values, shape, dtype, ", ", prefix.length, lineWidth - 1);
  // JAX's own rule for the dtype: if it would overflow the last line it is pushed right by the
  // prefix width (JAX measures the line with an off-by-two, reproduced here).
  const lastLineLen = s.length - s.lastIndexOf("\n") + 1;
  const sep = lastLineLen + dtypeStr.length + 1 > lineWidth ? " ".repeat(prefix.length) : " ";
  return `${prefix}${s},${sep}${dtypeStr}`;
}
