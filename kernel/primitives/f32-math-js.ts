// The JavaScript rendering of the float32 math algorithms (f32-math.ts): each algorithm becomes
// one straight-line JS function `(x) => number` in which every F32Ops operation is one
// `const tN = ...;` statement, computing exactly what the IEEE float32 instruction would:
//   floats  -> `Math.fround(a op b)` (float64 has more than twice float32's precision, so the
//              double rounding of +, -, *, /, sqrt is innocuous: the result is the float32 one),
//   ints    -> int32 numbers kept in range with `| 0` (wrapping like i32 arithmetic),
//   masks   -> booleans, `select` -> `m ? a : b`,
//   bitsOf / fromBits -> a Float32Array / Int32Array pair over one shared 4-byte buffer,
//   nearest -> float64 round-to-integer by the 1.5 * 2^52 trick (ties to even, as IEEE).
// Constants are inlined as literals (already rounded to float32). The functions are compiled
// once, together, with `new Function`, and become the elementwise rules' `H.<name>f32`
// helpers (cpu-loops.ts). The source text is exported for inspection and tests.

import { PrimalError } from "../core/errors";
import { F32Algorithm, F32Ops, F32_MATH } from "./f32-math";

/** A float32 (or int32) constant as JS source; negative values parenthesised. */
function literal(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "(-Infinity)";
  if (Object.is(v, -0)) return "(-0)";
  return v < 0 ? `(${v})` : String(v);
}

/** F32Ops over source text: every operation appends one statement and names its result. */
class JsRecorder implements F32Ops<string, string, string> {
  readonly lines: string[] = [];
  private n = 0;
  private emit(expr: string): string {
    const name = `t${this.n++}`;
    this.lines.push(`  const ${name} = ${expr};`);
    return name;
  }
  f(c: number): string {
    return literal(Math.fround(c));
  }
  i(c: number): string {
    if (!Number.isInteger(c) || c < -0x80000000 || c > 0xffffffff) throw new PrimalError(`f32-math: an int32 constant must be an integer within 32 bits, got ${c}`);
    return literal(c | 0);
  }
  add(a: string, b: string): string { return this.emit(`Math.fround(${a} + ${b})`); }
  sub(a: string, b: string): string { return this.emit(`Math.fround(${a} - ${b})`); }
  mul(a: string, b: string): string { return this.emit(`Math.fround(${a} * ${b})`); }
  div(a: string, b: string): string { return this.emit(`Math.fround(${a} / ${b})`); }
  neg(a: string): string { return this.emit(`-${a}`); }
  abs(a: string): string { return this.emit(`Math.abs(${a})`); }
  sqrt(a: string): string { return this.emit(`Math.fround(Math.sqrt(${a}))`); }
  floor(a: string): string { return this.emit(`Math.floor(${a})`); }
  nearest(a: string): string { return this.emit(`rne(${a})`); }
  lt(a: string, b: string): string { return this.emit(`${a} < ${b}`); }
  le(a: string, b: string): string { return this.emit(`${a} <= ${b}`); }
  gt(a: string, b: string): string { return this.emit(`${a} > ${b}`); }
  ge(a: string, b: string): string { return this.emit(`${a} >= ${b}`); }
  eq(a: string, b: string): string { return this.emit(`${a} === ${b}`); }
  ne(a: string, b: string): string { return this.emit(`${a} !== ${b}`); }
  and(a: string, b: string): string { return this.emit(`${a} && ${b}`); }
  or(a: string, b: string): string { return this.emit(`${a} || ${b}`); }
  select(m: string, a: string, b: string): string { return this.emit(`${m} ? ${a} : ${b}`); }
  // `| 0` truncates toward zero for values inside int32 range, which is toInt's contract.
  toInt(a: string): string { return this.emit(`${a} | 0`); }
  // int32 -> float32 rounds to nearest even, as Math.fround of the exact integer does.
  toFloat(a: string): string { return this.emit(`Math.fround(${a})`); }
  bitsOf(a: string): string { return this.emit(`(SF[0] = ${a}, SI[0])`); }
  fromBits(a: string): string { return this.emit(`(SI[0] = ${a}, SF[0])`); }
  iadd(a: string, b: string): string { return this.emit(`(${a} + ${b}) | 0`); }
  isub(a: string, b: string): string { return this.emit(`(${a} - ${b}) | 0`); }
  iand(a: string, b: string): string { return this.emit(`${a} & ${b}`); }
  ior(a: string, b: string): string { return this.emit(`${a} | ${b}`); }
  ishl(a: string, n: number): string { return this.emit(`${a} << ${n & 31}`); }
  ishr(a: string, n: number): string { return this.emit(`${a} >> ${n & 31}`); }
  ishru(a: string, n: number): string { return this.emit(`(${a} >>> ${n & 31}) | 0`); }
}

/**
 * The source text of a JS function `name(x)` computing `alg` in float32. It expects `SF`
 * (Float32Array(1)), `SI` (an Int32Array over the same buffer) and `rne` (ties-to-even
 * rounding) in scope; F32_MATH_JS_PRELUDE defines them. The argument is rounded to float32
 * first, so a float64 argument gives the result for its nearest float32.
 */
export function renderF32Js(name: string, alg: F32Algorithm): string {
  const rec = new JsRecorder();
  const result = alg(rec, "x");
  return [`function ${name}(x) {`, `  x = Math.fround(x);`, ...rec.lines, `  return ${result};`, `}`].join("\n");
}

/**
 * Definitions the rendered functions use. rne is roundTiesToEven (WebAssembly's f32.nearest):
 * adding and subtracting 1.5 * 2^52 rounds a float64 of magnitude below 2^51 to an integer in
 * the current mode, ties to even (the sum has ulp 1 and 1.5 * 2^52 is even); a float32 of
 * magnitude 2^23 or more is an integer already (and NaN and infinities pass through). A zero
 * result takes a's sign (a * 0), as -0.4 -> -0 must. About 10% faster in exp than Math.round
 * with a tie correction.
 */
export const F32_MATH_JS_PRELUDE = [
  `const SF = new Float32Array(1);`,
  `const SI = new Int32Array(SF.buffer);`,
  `function rne(a) {`,
  `  if (!(Math.abs(a) < 8388608)) return a;`,
  `  const r = (a + 6755399441055744) - 6755399441055744;`,
  `  return r === 0 ? a * 0 : r;`,
  `}`,
].join("\n");

/** The JS helper's name for an algorithm of F32_MATH: exp -> expf32. */
export function f32HelperName(prim: string): string {
  return `${prim.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase())}f32`;
}

/** The source of every F32_MATH algorithm rendered to JS, by primitive name (for inspection). */
export const F32_MATH_JS_SOURCE: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(F32_MATH).map(([prim, alg]) => [prim, renderF32Js(f32HelperName(prim), alg)]),
);

/** Compiles rendered functions (with the prelude) into callables, by primitive name. */
export function compileF32Js(sources: Readonly<Record<string, string>>): Record<string, (x: number) => number> {
  const names = Object.keys(sources).map(f32HelperName);
  const body = [F32_MATH_JS_PRELUDE, ...Object.values(sources), `return { ${Object.keys(sources).map((p, i) => `${JSON.stringify(p)}: ${names[i]}`).join(", ")} };`].join("\n");
  return new Function(body)() as Record<string, (x: number) => number>;
}

/** The compiled float32 helpers, by primitive name (exp, log, log1p, expm1, tanh, logistic). */
export const F32_MATH_JS: Readonly<Record<string, (x: number) => number>> = compileF32Js(F32_MATH_JS_SOURCE);

export const expf32 = F32_MATH_JS.exp;
export const logf32 = F32_MATH_JS.log;
export const log1pf32 = F32_MATH_JS.log1p;
export const expm1f32 = F32_MATH_JS.expm1;
export const tanhf32 = F32_MATH_JS.tanh;
export const logisticf32 = F32_MATH_JS.logistic;
