// jax.debug: `debug.print(fmt, ...args)` and `debug.callback(fn, ...args)`.
//
// Both are primitives with no outputs and an effect (printing, calling back) that happens when
// the primitive is *executed* with concrete values: eagerly it prints at once; under jit the
// equation is staged (`debug_print[...]`, kept although nothing uses it: staging never removes
// equations) and prints on every call of the compiled function; under grad it prints the primal
// values during the forward pass (its jvp rule binds it on the primals; partial evaluation runs
// it at once since those are known); under vmap it prints once per element of the batch, as
// JAX does (see `batchRule`).
//
// The format string follows Python's str.format: `{}`, `{0}`, `{x}`, `{{`/`}}`, conversions
// `!r`/`!s`, and format specs (`{x:.3f}`, `{:>8}`...) for scalars. Arrays print in NumPy's str
// form, as `print` does. Keyword arguments are a trailing plain object: `debug.print("x={x}",
// { x })`; an `ordered` boolean in it is JAX's `ordered=` option (accepted; Primal always runs
// the prints in program order).

import { ArgumentError, IndexError, PrimalError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { writeOutput } from "../core/output-sink";
import { Primitive, definePrimitive } from "../core/primitive";
import { describeValue, isPlainObject } from "../core/shape";
import { bind } from "../core/trace";
import { PyTreeDef, treeFlatten } from "../core/tree";
import { pythonFloatRepr } from "../ir/printer";
import { sliceAxis, squeeze } from "../primitives/ops";

// ---------------------------------------------------------------------------------------------
// Python's str.format

type Segment = { text: string } | { key: number | string; conv: "r" | "s" | "a" | null; spec: string; src: string };

interface ParsedFormat {
  segments: Segment[];
  /** Positional indices used. */
  positional: Set<number>;
  /** Keyword names used. */
  named: Set<string>;
}

const parseCache = new Map<string, ParsedFormat>();

/** Parses a Python format string (field names are an index, a name or empty, without `.attr`/`[i]` access). */
export function parseFormat(fmt: string): ParsedFormat {
  const hit = parseCache.get(fmt);
  if (hit) return hit;
  const op = "debug.print";
  const segments: Segment[] = [];
  const positional = new Set<number>();
  const named = new Set<string>();
  let text = "";
  let auto: boolean | null = null;
  let next = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if (c === "}") {
      if (fmt[i + 1] === "}") {
        text += "}";
        i++;
        continue;
      }
      throw new ValueError(`${op}: Single '}' encountered in format string, got ${JSON.stringify(fmt)}`);
    }
    if (c !== "{") {
      text += c;
      continue;
    }
    if (fmt[i + 1] === "{") {
      text += "{";
      i++;
      continue;
    }
    // A replacement field: find its closing brace (one level of nested braces in the spec).
    let depth = 1;
    let j = i + 1;
    for (; j < fmt.length && depth > 0; j++) {
      if (fmt[j] === "{") depth++;
      else if (fmt[j] === "}") depth--;
    }
    if (depth !== 0) throw new ValueError(`${op}: expected '}' before end of string, got ${JSON.stringify(fmt)}`);
    const body = fmt.slice(i + 1, j - 1);
    i = j - 1;
    if (text) segments.push({ text });
    text = "";
    const m = /^([^!:]*)(?:!([^:]*))?(?::(.*))?$/s.exec(body)!;
    const name = m[1];
    const conv = m[2] === undefined ? null : m[2];
    const spec = m[3] ?? "";
    if (conv !== null && conv !== "r" && conv !== "s" && conv !== "a") throw new ValueError(`${op}: Unknown conversion specifier ${conv}, got {${body}}`);
    if (spec.includes("{")) throw new ValueError(`${op}: nested replacement fields in format specs are not supported, got {${body}}`);
    if (/[.[]/.test(name)) throw new ValueError(`${op}: attribute or index access in replacement fields is not supported, got {${body}}`);
    let key: number | string;
    if (name === "") {
      if (auto === false) throw new ValueError(`${op}: cannot switch from manual field specification to automatic field numbering`);
      auto = true;
      key = next++;
    } else if (/^\d+$/.test(name)) {
      if (auto === true) throw new ValueError(`${op}: cannot switch from automatic field numbering to manual field specification`);
      auto = false;
      key = Number(name);
    } else key = name;
    if (typeof key === "number") positional.add(key);
    else named.add(key);
    segments.push({ key, conv: conv as "r" | "s" | "a" | null, spec, src: `{${body}}` });
  }
  if (text) segments.push({ text });
  const parsed = { segments, positional, named };
  if (parseCache.size > 500) parseCache.clear();
  parseCache.set(fmt, parsed);
  return parsed;
}

/** A JS number as Python's str() shows the corresponding Python int or float. */
function pyNumber(v: number): string {
  return Number.isInteger(v) && Math.abs(v) < 1e16 ? String(v) : pythonFloatRepr(v);
}

/** NumPy's repr of an array: `array([1., 2.], dtype=float32)`. */
function numpyRepr(x: NDArray): string {
  return x.repr().replace(/^Array\(/, "array(").replace(/, weak_type=True\)$/, ")");
}

/** Python's repr of a value (inside containers, and for `!r`). */
function pyRepr(v: unknown): string {
  if (v instanceof NDArray) return numpyRepr(v);
  if (typeof v === "string") return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  return pyStr(v);
}

/** Python's str of a value: arrays in NumPy's str form, containers as Python prints lists and dicts. */
function pyStr(v: unknown): string {
  if (v instanceof NDArray) return v.toString();
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return pyNumber(v);
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).map((k) => `'${k}': ${pyRepr(v[k])}`).join(", ")}}`;
  return String(v);
}

/** Python's format-spec mini-language for numbers and strings: [[fill]align][sign][#][0][width][,|_][.precision][type]. */
export function formatSpec(v: number | string | boolean, spec: string, src = spec, kind: "int" | "float" | "bool" | "auto" = "auto"): string {
  const op = "debug.print";
  const m = /^(?:(.)?([<>=^]))?([+\- ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s.exec(spec);
  if (!m) throw new ValueError(`${op}: Invalid format specifier ${JSON.stringify(spec)}, got ${src}`);
  let [, fill, align] = m;
  const [, , , sign, alt, zero, widthS, group, precS, type] = m;
  const width = widthS ? Number(widthS) : 0;
  const prec = precS === undefined ? null : Number(precS);
  if (zero && !align) {
    fill = "0";
    align = "=";
  }
  fill ??= " ";
  let body: string;
  let neg = false;
  if (typeof v === "string") {
    if (type && type !== "s") throw new ValueError(`${op}: Unknown format code '${type}' for object of type 'str', got ${src}`);
    body = prec === null ? v : v.slice(0, prec);
    align ??= "<";
  } else {
    let x = typeof v === "boolean" ? (v ? 1 : 0) : v;
    // A JS number is a Python int when it is integral; arrays say what they are.
    const k = typeof v === "boolean" ? "bool" : kind === "auto" ? (Number.isInteger(x) && Math.abs(x) < 1e16 ? "int" : "float") : kind;
    const isInt = k !== "float";
    if (k === "bool" && !type && prec === null) return formatSpec(v ? "True" : "False", spec.replace(/[,_]/, ""), src);
    neg = x < 0 || Object.is(x, -0);
    x = Math.abs(x);
    const special = (): string | null => (Number.isNaN(x) ? "nan" : Number.isFinite(x) ? null : "inf");
    const fixed = (p: number) => special() ?? toFixedHalfEven(x, p);
    const expo = (p: number, upper = false) => {
      const sp = special();
      if (sp) return upper ? sp.toUpperCase() : sp;
      const [mant, e] = x.toExponential(p).split("e");
      const n = Number(e);
      const s = `${mant}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
      return upper ? s.toUpperCase() : s;
    };
    const stripZeros = (s: string): string => {
      const [mant, e] = s.split("e");
      const m2 = mant.includes(".") ? mant.replace(/0+$/, "").replace(/\.$/, "") : mant;
      return e === undefined ? m2 : `${m2}e${e}`;
    };
    // Python's 'g': fixed when -4 <= exponent < precision, else scientific; trailing zeros dropped unless '#'.
    const general = (p: number, keepZeros: boolean) => {
      const sp = special();
      if (sp) return sp;
      const pp = p === 0 ? 1 : p;
      const exp = x === 0 ? 0 : Number(x.toExponential(pp - 1).split("e")[1]);
      const s = exp >= -4 && exp < pp ? x.toFixed(Math.max(0, pp - 1 - exp)) : expo(pp - 1);
      return keepZeros ? s : stripZeros(s);
    };
    switch (type) {
      case "f":
      case "F":
        body = fixed(prec ?? 6);
        if (type === "F") body = body.toUpperCase();
        break;
      case "e":
      case "E":
        body = expo(prec ?? 6, type === "E");
        break;
      case "g":
      case "G":
      case "n":
        body = general(prec ?? 6, !!alt);
        if (type === "G") body = body.toUpperCase();
        break;
      case "%":
        x *= 100;
        body = fixed(prec ?? 6) + "%";
        break;
      case "d":
      case "b":
      case "o":
      case "x":
      case "X":
      case "c":
        if (!isInt) throw new ValueError(`${op}: Unknown format code '${type}' for object of type 'float', got ${src}`);
        body = type === "d" ? String(x) : type === "b" ? x.toString(2) : type === "o" ? x.toString(8) : type === "c" ? String.fromCodePoint(x) : x.toString(16);
        if (type === "X") body = body.toUpperCase();
        if (alt && "box".includes(type.toLowerCase())) body = `0${type}${body}`;
        break;
      case "s":
        throw new ValueError(`${op}: Unknown format code 's' for object of type '${isInt ? "int" : "float"}', got ${src}`);
      default:
        // No type: str() of the number, or 'g'-like with at least one decimal when a precision is given.
        body = prec === null ? (isInt ? String(x) : special() ?? pythonFloatRepr(x)) : isInt ? String(x) : general(prec, false);
        break;
    }
    if (group) {
      const [intPart, rest] = /^(\d+)(.*)$/s.exec(body)?.slice(1) ?? [body, ""];
      if (intPart !== undefined && /^\d+$/.test(intPart)) body = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, group) + rest;
    }
    align ??= ">";
  }
  const signStr = neg ? "-" : sign === "+" ? "+" : sign === " " ? " " : "";
  let out = signStr + body;
  if (out.length < width) {
    const pad = width - out.length;
    switch (align) {
      case "<":
        out = out + fill.repeat(pad);
        break;
      case "^":
        out = fill.repeat(Math.floor(pad / 2)) + out + fill.repeat(pad - Math.floor(pad / 2));
        break;
      case "=":
        out = signStr + fill.repeat(pad) + body;
        break;
      default:
        out = fill.repeat(pad) + out;
    }
  }
  return out;
}

/**
 * x.toFixed(p) with Python's rounding: an exact tie (0.5, 2.5, 0.125 in binary) goes to the even
 * digit, where JS rounds it up.
 */
function toFixedHalfEven(x: number, p: number): string {
  // x * 10^p ends in exactly .5 iff x * 2^(p+1) (an exact product) is an odd integer.
  const t = x * 2 ** (p + 1);
  if (p > 100 || !Number.isSafeInteger(t) || t % 2 === 0) return x.toFixed(p);
  const twice = BigInt(t) * 5n ** BigInt(p); // 2 * x * 10^p, odd
  let n = (twice - 1n) / 2n; // floor(x * 10^p) for x > 0
  if (n % 2n !== 0n) n += 1n;
  const digits = n.toString().padStart(p + 1, "0");
  return p === 0 ? digits : `${digits.slice(0, digits.length - p)}.${digits.slice(digits.length - p)}`;
}

/** One replacement field's text. */
function formatField(v: unknown, conv: "r" | "s" | "a" | null, spec: string, src: string): string {
  if (conv === "r" || conv === "a") return spec ? formatSpec(pyRepr(v), spec, src) : pyRepr(v);
  if (conv === "s") return spec ? formatSpec(pyStr(v), spec, src) : pyStr(v);
  if (!spec) return pyStr(v);
  if (v instanceof NDArray) {
    // NumPy formats a 0-d array through its scalar; a bigger array has no __format__.
    if (v.ndim !== 0) throw new ValueError(`debug.print: unsupported format string passed to numpy.ndarray.__format__, got ${src} for an array of shape [${v.shape.join(", ")}]`);
    const item = v.item();
    return formatSpec(item, spec, src, v.dtype.isFloat ? "float" : v.dtype.isBool ? "bool" : "int");
  }
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return formatSpec(v, spec, src);
  throw new ValueError(`debug.print: unsupported format string passed to ${describeValue(v)}, got ${src}`);
}

/** Formats the parsed string with positional and keyword values (concrete). */
export function applyFormat(fmt: string, args: unknown[], kwargs: Record<string, unknown>): string {
  const { segments } = parseFormat(fmt);
  return segments
    .map((s) => {
      if ("text" in s) return s.text;
      const v = typeof s.key === "number" ? args[s.key] : kwargs[s.key];
      return formatField(v, s.conv, s.spec, s.src);
    })
    .join("");
}

/** JAX's _DebugPrintFormatChecker: every field has a value and every value is used. */
function checkFormatArgs(fmt: string, nArgs: number, kwargs: Record<string, unknown>): void {
  const { positional, named } = parseFormat(fmt);
  for (const i of positional) if (i >= nArgs) throw new IndexError(`debug.print: Replacement index ${i} out of range for positional args tuple (${nArgs} positional arguments)`);
  for (const k of named) if (!(k in kwargs)) throw new ValueError(`debug.print: no keyword argument ${JSON.stringify(k)} for the field {${k}} (KeyError: '${k}'), got keys [${Object.keys(kwargs).join(", ")}]`);
  const unusedArgs = Array.from({ length: nArgs }, (_, i) => i).filter((i) => !positional.has(i));
  if (unusedArgs.length) throw new ValueError(`debug.print: Unused positional arguments to \`jax.debug.print\`: [${unusedArgs.join(", ")}] (argument indices)`);
  const unusedKw = Object.keys(kwargs).filter((k) => !named.has(k));
  if (unusedKw.length)
    throw new ValueError(
      `debug.print: Unused keyword arguments to \`jax.debug.print\`: [${unusedKw.map((k) => `'${k}'`).join(", ")}]. You may be passing a template literal (\`x=\${x}\`) into \`debug.print\` and instead should pass in a format string ("x={x}").`,
    );
}

// ---------------------------------------------------------------------------------------------
// The primitives

/** The parameters shared by debug_print and debug_callback. */
interface DebugParams {
  /** The structure of [args, kwargs]. */
  in_tree: PyTreeDef;
  /** Leaves that are not arrays (numbers, strings...), by leaf position; arrays are the inputs. */
  static_args: [number, unknown][];
  ordered: boolean;
  partitioned: boolean;
}

export interface DebugPrintParams extends DebugParams {
  fmt: string;
  has_placeholders: boolean;
}

export interface DebugCallbackParams extends DebugParams {
  callback: (...args: any[]) => unknown;
}

/** Rebuilds [args, kwargs] from the (concrete) array inputs and the static leaves. */
function rebuild(p: DebugParams, arrays: NDArray[]): [unknown[], Record<string, unknown>] {
  const leaves: unknown[] = new Array(p.in_tree.numLeaves);
  for (const [i, v] of p.static_args) leaves[i] = v;
  let k = 0;
  for (let i = 0; i < leaves.length; i++) if (!p.static_args.some(([j]) => j === i)) leaves[i] = arrays[k++];
  return p.in_tree.unflatten(leaves) as [unknown[], Record<string, unknown>];
}

/**
 * vmap: the effect runs once per element of the batch, in order, as JAX's debug_callback
 * batching rule unrolls it (so `vmap(f)` over 3 values prints 3 lines, as the JAX docs show).
 */
function batchRule<P>(prim: () => Primitive<P>) {
  return (args: NDArray[], dims: (number | null)[], p: P, size: number): [NDArray[], (number | null)[]] => {
    for (let i = 0; i < size; i++)
      bind(prim(), args.map((a, k) => (dims[k] === null ? a : squeeze(sliceAxis(a, dims[k]!, i, i + 1), [dims[k]!]))), p);
    return [[], []];
  };
}

const printParams = (p: DebugParams) => ({
  in_tree: String(p.in_tree),
  ordered: p.ordered,
  partitioned: p.partitioned,
  static_args: p.static_args.map(([, v]) => pyRepr(v)),
});

export const debugPrintP: Primitive<DebugPrintParams> = definePrimitive<DebugPrintParams>({
  name: "debug_print",
  abstractEval: () => [],
  cpu: () => {
    throw new PrimalError("debug_print: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl: (args, p) => {
    const [a, kw] = rebuild(p, args);
    writeOutput("print", applyFormat(p.fmt, a, kw));
    return [];
  },
  // The primal values are printed (once), the tangents not at all.
  jvp: (primals, _tangents, p) => {
    bind(debugPrintP, primals, p);
    return [[], []];
  },
  batch: batchRule(() => debugPrintP),
  printParams: (p) => ({ fmt: p.fmt, has_placeholders: p.has_placeholders, ...printParams(p) }),
});

export const debugCallbackP: Primitive<DebugCallbackParams> = definePrimitive<DebugCallbackParams>({
  name: "debug_callback",
  abstractEval: () => [],
  cpu: () => {
    throw new PrimalError("debug_callback: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl: (args, p) => {
    const [a] = rebuild(p, args);
    p.callback(...a);
    return [];
  },
  jvp: (primals, _tangents, p) => {
    bind(debugCallbackP, primals, p);
    return [[], []];
  },
  batch: batchRule(() => debugCallbackP),
  printParams: (p) => ({ callback: p.callback, ...printParams(p) }),
});

/**
 * Primitives with an effect and no outputs: an equation of one of them must be kept (never
 * dead-code eliminated) and run in program order when the jaxpr is executed. For compilers.
 */
export const effectfulPrimitives: ReadonlySet<Primitive> = new Set<Primitive>([debugPrintP, debugCallbackP]);

/** Flattens [args, kwargs]: arrays become the primitive's inputs, other leaves static parameters. */
function flattenDebugArgs(args: unknown[], kwargs: Record<string, unknown>): { arrays: NDArray[]; in_tree: PyTreeDef; static_args: [number, unknown][] } {
  const [leaves, in_tree] = treeFlatten([args, kwargs]);
  const arrays: NDArray[] = [];
  const static_args: [number, unknown][] = [];
  leaves.forEach((l, i) => (l instanceof NDArray ? arrays.push(l) : static_args.push([i, l])));
  return { arrays, in_tree, static_args };
}

/**
 * jax.debug.print: `debug.print("x={x} y={}", y, { x })` prints when the computation runs,
 * inside jit, vmap and grad too. Positional values fill `{}`/`{0}`; a trailing plain object
 * holds the keyword values (`{x}`) and the option `ordered`.
 */
function debugPrint(fmt: string, ...rest: unknown[]): void {
  if (typeof fmt !== "string") throw new ArgumentError(`debug.print: the format must be a string, got ${describeValue(fmt)}`);
  const { named } = parseFormat(fmt);
  let args = rest;
  let kwargs: Record<string, unknown> = {};
  let ordered = false;
  const last = rest[rest.length - 1];
  // A trailing plain object is the keywords when the format names fields (or it only holds options).
  if (isPlainObject(last) && (named.size > 0 || (Object.keys(last).length > 0 && Object.keys(last).every((k) => k === "ordered")))) {
    args = rest.slice(0, -1);
    kwargs = { ...last };
    if ("ordered" in kwargs && !named.has("ordered")) {
      if (typeof kwargs.ordered !== "boolean") throw new ArgumentError(`debug.print: option ordered must be a boolean, got ${describeValue(kwargs.ordered)}`);
      ordered = kwargs.ordered;
      delete kwargs.ordered;
    }
  }
  checkFormatArgs(fmt, args.length, kwargs);
  const { arrays, in_tree, static_args } = flattenDebugArgs(args, kwargs);
  bind(debugPrintP, arrays, { fmt, has_placeholders: parseFormat(fmt).segments.some((s) => !("text" in s)), in_tree, static_args, ordered, partitioned: false } satisfies DebugPrintParams);
}

/**
 * jax.debug.callback: calls `fn(...args)` with concrete values when the computation runs (inside
 * jit, vmap and grad too); its result is ignored.
 */
function debugCallback(fn: (...args: any[]) => unknown, ...args: unknown[]): void {
  if (typeof fn !== "function") throw new ArgumentError(`debug.callback: expected a function, got ${describeValue(fn)}`);
  const { arrays, in_tree, static_args } = flattenDebugArgs(args, {});
  bind(debugCallbackP, arrays, { callback: fn, in_tree, static_args, ordered: false, partitioned: false } satisfies DebugCallbackParams);
}

/** JAX's `jax.debug` namespace. */
export const debug = {
  print: debugPrint,
  callback: debugCallback,
};
