// `nn.initializers`: jax.nn.initializers in TypeScript, after jax/_src/nn/initializers.py.
// Each factory returns an initializer `init(key, shape, dtype?)` that draws from the random
// module exactly as JAX's does (same sampler, same key, same float operations in the same
// order), so that the weights equal JAX's. `zeros` and `ones` are initializers themselves.
//
// Factory arguments follow shared/API.md: positional in JAX's order or one trailing options
// object, e.g. `glorotNormal()`, `heUniform({ inAxis: -2, outAxis: -1 })`,
// `varianceScaling(2.0, "fan_in", "truncated_normal", { batchAxis: [0] })`. The dtype can be
// fixed by the factory (its `dtype` option) and overridden per call: `init(key, [3, 4], "float16")`.

import { DType, DTypeLike, float32, toDType } from "../core/dtype";
import { ArgumentError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { checkOptions, checkShape, describeValue, isPlainObject, normalizeAxis } from "../core/shape";
import { ArrayLike, asArray } from "./convert";
import { full } from "./creation";
import * as lax from "./lax";
import { KeyArg, normal as randomNormal, truncatedNormal as randomTruncatedNormal, uniform as randomUniform } from "./random";

/** An initializer: draws an array of `shape` (and `dtype`, default the factory's) from `key`. */
export type Initializer = (key: KeyArg, shape: number | readonly number[], dtype?: DTypeLike | null | { dtype?: DTypeLike | null }) => NDArray;

/** The call's dtype: a positional dtype, a `{ dtype }` object, or the factory's default. */
function callDType(op: string, d: unknown, dflt: DTypeLike): DType {
  if (isPlainObject(d)) d = checkOptions<{ dtype?: DTypeLike | null }>(op, d, { dtype: "any" }).dtype;
  return toDType(d === undefined || d === null ? dflt : d, op);
}

/** The factory's dtype option (float32 unless given). */
const factoryDType = (op: string, d: DTypeLike | null | undefined): DTypeLike => (d === undefined || d === null ? float32 : toDType(d, op));

/** JAX's initializers reject shapes given as anything but lengths; a number is one length. */
const shapeOf = (op: string, shape: unknown): number[] => checkShape(op, shape);

/** A strong scalar of `d` (JAX's jnp.array(v, dtype)). */
const scalar = (v: number, d: DType): NDArray => asArray(v, d);

function floatOnly(op: string, d: DType): void {
  if (!d.isFloat) throw new ValueError(`${op}: dtype must be a floating point type, got ${d.name}`);
}

// ---- constant initializers ----

/** jax.nn.initializers.zeros: an initializer giving zeros (float32 unless `dtype`). */
export const zeros: Initializer = (_key, shape, dtype) => {
  const d = callDType("zeros", dtype, float32);
  return full(shapeOf("zeros", shape), 0, { dtype: d });
};

/** jax.nn.initializers.ones: an initializer giving ones (float32 unless `dtype`). */
export const ones: Initializer = (_key, shape, dtype) => {
  const d = callDType("ones", dtype, float32);
  return full(shapeOf("ones", shape), 1, { dtype: d });
};

/** constant(value, dtype = float32): an initializer filling every element with `value`. */
export function constant(value: ArrayLike, dtype?: DTypeLike | null | { dtype?: DTypeLike | null }): Initializer {
  const dflt = factoryDType("constant", isPlainObject(dtype) ? checkOptions<{ dtype?: DTypeLike | null }>("constant", dtype, { dtype: "any" }).dtype : dtype);
  return (_key, shape, d) => full(shapeOf("constant", shape), value, { dtype: callDType("constant", d, dflt) });
}

// ---- simple random initializers ----

/** Reads `(a?, dtype?)` or `(a?, { a, dtype })`, for the factories taking one number and a dtype. */
function oneParam(op: string, name: string, args: unknown[], dflt: number, extra: Record<string, number> = {}): { v: number; dtype: DTypeLike; extra: Record<string, number> } {
  let pos = args;
  let opts: Record<string, unknown> = {};
  if (pos.length && isPlainObject(pos[pos.length - 1])) {
    const spec: Record<string, "any"> = { [name]: "any", dtype: "any" };
    for (const k of Object.keys(extra)) spec[k] = "any";
    opts = checkOptions(op, pos[pos.length - 1], spec);
    pos = pos.slice(0, -1);
  }
  const names = [name, "dtype", ...Object.keys(extra)];
  if (pos.length > names.length) throw new ArgumentError(`${op}: takes at most ${names.length} positional arguments (${names.join(", ")}), got ${pos.length}`);
  const vals: Record<string, unknown> = { ...opts };
  pos.forEach((v, i) => {
    if (v === undefined) return;
    if (vals[names[i]] !== undefined && vals[names[i]] !== null) throw new ArgumentError(`${op}: got multiple values for argument ${names[i]}`);
    vals[names[i]] = v;
  });
  const num = (k: string, d: number): number => {
    const v = vals[k];
    if (v === undefined || v === null) return d;
    if (typeof v !== "number") throw new ArgumentError(`${op}: ${k} must be a number, got ${describeValue(v)}`);
    return v;
  };
  const ex: Record<string, number> = {};
  for (const [k, d] of Object.entries(extra)) ex[k] = num(k, d);
  return { v: num(name, dflt), dtype: factoryDType(op, vals.dtype as DTypeLike | null | undefined), extra: ex };
}

/** uniform(scale = 1e-2, dtype = float32): uniform in [0, scale). */
export function uniform(...args: [number?, DTypeLike?] | [number | undefined, { dtype?: DTypeLike | null }] | [{ scale?: number; dtype?: DTypeLike | null }]): Initializer {
  const { v: scale, dtype } = oneParam("uniform", "scale", args, 1e-2);
  return (key, shape, d) => {
    const dt = callDType("uniform", d, dtype);
    return lax.mul(randomUniform(key, shapeOf("uniform", shape), dt), scalar(scale, dt));
  };
}

/** normal(stddev = 1e-2, dtype = float32): normal with mean 0 and standard deviation `stddev`. */
export function normal(...args: [number?, DTypeLike?] | [number | undefined, { dtype?: DTypeLike | null }] | [{ stddev?: number; dtype?: DTypeLike | null }]): Initializer {
  const { v: stddev, dtype } = oneParam("normal", "stddev", args, 1e-2);
  return (key, shape, d) => {
    const dt = callDType("normal", d, dtype);
    return lax.mul(randomNormal(key, shapeOf("normal", shape), dt), scalar(stddev, dt));
  };
}

/**
 * truncatedNormal(stddev = 1e-2, dtype = float32, lower = -2, upper = 2): a standard normal
 * truncated to (lower, upper), times `stddev` (so the result's deviation is below `stddev`).
 */
export function truncatedNormal(
  ...args: [number?, DTypeLike?, number?, number?] | [{ stddev?: number; dtype?: DTypeLike | null; lower?: number; upper?: number }]
    | [number | undefined, { dtype?: DTypeLike | null; lower?: number; upper?: number }]
): Initializer {
  const { v: stddev, dtype, extra } = oneParam("truncated_normal", "stddev", args, 1e-2, { lower: -2.0, upper: 2.0 });
  return (key, shape, d) => {
    const dt = callDType("truncated_normal", d, dtype);
    floatOnly("truncated_normal", dt);
    return lax.mul(randomTruncatedNormal(key, extra.lower, extra.upper, shapeOf("truncated_normal", shape), dt), scalar(stddev, dt));
  };
}

// ---- variance scaling ----

/** An axis argument of the fan computation: one axis or several. */
export type FanAxis = number | readonly number[];

/** Options of varianceScaling and the glorot/he/lecun factories. */
export interface FanOptions {
  inAxis?: FanAxis;
  outAxis?: FanAxis;
  batchAxis?: FanAxis;
  dtype?: DTypeLike | null;
}
const FAN_OPTS = { inAxis: "any", outAxis: "any", batchAxis: "any", dtype: "any" } as const;

export type Mode = "fan_in" | "fan_out" | "fan_avg";
export type Distribution = "truncated_normal" | "normal" | "uniform";

/** The product of `shape`'s lengths along `axis` (one axis or several; JAX's indexing, negative allowed). */
function sizeAlong(op: string, shape: readonly number[], axis: FanAxis, what: string): number {
  const axes = typeof axis === "number" ? [axis] : axis;
  if (!Array.isArray(axes)) throw new ArgumentError(`${op}: ${what} must be an integer or a list of integers, got ${describeValue(axis)}`);
  return axes.reduce((n: number, a: unknown) => n * shape[normalizeAxis(op, a, shape.length)], 1);
}

/**
 * JAX's _compute_fans: fan_in = in_size * receptive field, fan_out = out_size * receptive
 * field, where the receptive field is the size of the remaining (non in/out/batch) axes.
 */
function computeFans(shape: readonly number[], inAxis: FanAxis = -2, outAxis: FanAxis = -1, batchAxis: FanAxis = []): [number, number] {
  const op = "variance_scaling";
  if (shape.length < 2)
    throw new ShapeError(`${op}: Can't compute input and output sizes of a ${shape.length}-dimensional weights tensor. Must be at least 2D, got shape ${fmtShape(shape)}`);
  const inSize = sizeAlong(op, shape, inAxis, "inAxis");
  const outSize = sizeAlong(op, shape, outAxis, "outAxis");
  const batchSize = sizeAlong(op, shape, batchAxis, "batchAxis");
  const total = shape.reduce((a, b) => a * b, 1);
  const receptiveFieldSize = total / inSize / outSize / batchSize;
  return [inSize * receptiveFieldSize, outSize * receptiveFieldSize];
}

/** The standard deviation of a standard normal truncated to (-2, 2). */
const TRUNCATED_STDDEV = 0.87962566103423978;

/**
 * varianceScaling(scale, mode, distribution, { inAxis = -2, outAxis = -1, batchAxis = [], dtype }):
 * samples with variance scale / n, n = fan_in, fan_out or their mean (by `mode`), from a
 * normal truncated to two deviations (rescaled by 0.8796... so the variance is right), a
 * normal, or a uniform on (-sqrt(3 scale / n), sqrt(3 scale / n)).
 */
export function varianceScaling(
  scale: number, mode: Mode, distribution: Distribution,
  ...rest: [FanAxis?, FanAxis?, FanAxis?, DTypeLike?] | [FanAxis | undefined, FanAxis | undefined, FanAxis | undefined, FanOptions] | [FanAxis | undefined, FanAxis | undefined, FanOptions] | [FanAxis | undefined, FanOptions] | [FanOptions]
): Initializer {
  const op = "variance_scaling";
  if (typeof scale !== "number") throw new ArgumentError(`${op}: scale must be a number, got ${describeValue(scale)}`);
  const o = fanArgs(op, rest);
  const { inAxis = -2, outAxis = -1, batchAxis = [] } = o;
  const dflt = factoryDType(op, o.dtype);
  // Checked when called, as JAX does; a bad mode or distribution is reported then.
  return (key, shape, d) => {
    const s = shapeOf(op, shape);
    const dt = callDType(op, d, dflt);
    const [fanIn, fanOut] = computeFans(s, inAxis, outAxis, batchAxis);
    let denominator: number;
    if (mode === "fan_in") denominator = fanIn;
    else if (mode === "fan_out") denominator = fanOut;
    else if (mode === "fan_avg") denominator = (fanIn + fanOut) / 2;
    else throw new ValueError(`invalid mode for variance scaling initializer: ${describeValue(mode)}`);
    if (distribution !== "truncated_normal" && distribution !== "normal" && distribution !== "uniform")
      throw new ValueError(`invalid distribution for variance scaling initializer: ${describeValue(distribution)}`);
    floatOnly(op, dt);
    // jnp.array(scale / denominator, dtype): the quotient in float64, then rounded to dt.
    const variance = scalar(scale / denominator, dt);
    if (distribution === "truncated_normal") {
      const stddev = lax.div(lax.sqrt(variance), scalar(TRUNCATED_STDDEV, dt));
      return lax.mul(randomTruncatedNormal(key, -2, 2, s, dt), stddev);
    }
    if (distribution === "normal") return lax.mul(randomNormal(key, s, dt), lax.sqrt(variance));
    return lax.mul(randomUniform(key, s, dt, -1), lax.sqrt(lax.mul(scalar(3, dt), variance)));
  };
}

/** Reads `(inAxis?, outAxis?, batchAxis?, dtype?)`, optionally followed by (or replaced by) FanOptions. */
function fanArgs(op: string, args: readonly unknown[]): FanOptions {
  let pos = args;
  let o: FanOptions = {};
  if (pos.length && isPlainObject(pos[pos.length - 1])) {
    o = { ...checkOptions<FanOptions>(op, pos[pos.length - 1], FAN_OPTS) };
    pos = pos.slice(0, -1);
  }
  const names = ["inAxis", "outAxis", "batchAxis", "dtype"] as const;
  if (pos.length > names.length) throw new ArgumentError(`${op}: takes at most ${names.length} positional arguments after the distribution (${names.join(", ")}), got ${pos.length}`);
  pos.forEach((v, i) => {
    if (v === undefined) return;
    const k = names[i];
    if (o[k] !== undefined && o[k] !== null) throw new ArgumentError(`${op}: got multiple values for argument ${k}`);
    (o as Record<string, unknown>)[k] = v;
  });
  return o;
}

type FanArgs = [FanAxis?, FanAxis?, FanAxis?, DTypeLike?] | [FanAxis | undefined, FanAxis | undefined, FanAxis | undefined, FanOptions] | [FanAxis | undefined, FanAxis | undefined, FanOptions] | [FanAxis | undefined, FanOptions] | [FanOptions];

function preset(op: string, scale: number, mode: Mode, distribution: Distribution) {
  return (...args: FanArgs): Initializer => {
    const o = fanArgs(op, args);
    return varianceScaling(scale, mode, distribution, o);
  };
}

/** glorot_uniform (xavier_uniform): varianceScaling(1, "fan_avg", "uniform"). */
export const glorotUniform = preset("glorot_uniform", 1.0, "fan_avg", "uniform");
export const xavierUniform = glorotUniform;
/** glorot_normal (xavier_normal): varianceScaling(1, "fan_avg", "truncated_normal"). */
export const glorotNormal = preset("glorot_normal", 1.0, "fan_avg", "truncated_normal");
export const xavierNormal = glorotNormal;
/** lecun_uniform: varianceScaling(1, "fan_in", "uniform"). */
export const lecunUniform = preset("lecun_uniform", 1.0, "fan_in", "uniform");
/** lecun_normal: varianceScaling(1, "fan_in", "truncated_normal"). */
export const lecunNormal = preset("lecun_normal", 1.0, "fan_in", "truncated_normal");
/** he_uniform (kaiming_uniform): varianceScaling(2, "fan_in", "uniform"). */
export const heUniform = preset("he_uniform", 2.0, "fan_in", "uniform");
export const kaimingUniform = heUniform;
/** he_normal (kaiming_normal): varianceScaling(2, "fan_in", "truncated_normal"). */
export const heNormal = preset("he_normal", 2.0, "fan_in", "truncated_normal");
export const kaimingNormal = heNormal;
