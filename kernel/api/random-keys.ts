// jax.random's keys and bits: typed keys (`key<fry>`) and raw uint32[2] keys, seeding, split,
// fold_in and random bits, bit-exact with JAX's threefry2x32 implementation in both of its
// modes (jax-reference.md §1.1-1.6): partitionable (the default, config.threefryPartitionable)
// and classic (`config.update("jax_threefry_partitionable", false)`), whose bits depend on the
// total size (the counter helper pads odd lengths and pairs the first half with the second).
//
// Every value is computed by primitives through `bind` (the threefry2x32 primitive and lax
// ops), so keys and bits trace under jit/vmap/grad; only static things (shapes, JS seeds) are
// handled in JS. The internal helpers below take key data of shape [...B, 2] and return results
// with the same leading batch axes B: that is how JAX's vmap of the samplers behaves (the hash
// is elementwise), and how the gamma sampler runs its per-element rejection loops.

import { DType, DTypeLike, float32, toDType, uint16, uint32, uint8 } from "../core/dtype";
import { ArgumentError, DTypeError, NotAvailableError, ShapeError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { config } from "../core/config";
import { OptionSpec, checkOptions, checkShape, describeValue, isPlainObject, sizeOf } from "../core/shape";
import { bind } from "../core/trace";
import { registerPytreeNode } from "../core/tree";
import { threefry2x32 } from "../primitives/random";
import { asArray } from "./convert";
import "./indexing"; // NDArray.get and iteration, which key arrays use
import * as lax from "./lax";

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

// ---- the key dtype and typed key arrays ----

/**
 * The dtype of typed key arrays, JAX's `key<fry>` (a KeyTy over the threefry2x32 impl). It is
 * not one of the numeric dtypes: key arrays are not NDArrays and refuse arithmetic, as in JAX.
 */
export class KeyDType {
  readonly name = "key<fry>";
  /** The PRNG implementation's name, as random.keyImpl returns it. */
  readonly impl = "threefry2x32";
  toString(): string {
    return this.name;
  }
  toJSON(): string {
    return this.name;
  }
  [inspectSymbol](): string {
    return this.name;
  }
}
/** The one key dtype (threefry2x32 is the only implementation). */
export const keyFry = new KeyDType();

/** A shape as Python prints a tuple: `()`, `(2,)`, `(2, 3)`. */
export function pyShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/**
 * An array of typed PRNG keys (JAX's `Array(..., dtype=key<fry>)`): a view of uint32 key data of
 * shape [...shape, 2]. Made by random.key, random.split/foldIn of typed keys and
 * random.wrapKeyData; random.keyData gives the data back. Its shape leaves out the trailing 2,
 * it iterates over its leading axis (`const [k1, k2] = random.split(k)`), and it prints as JAX
 * does: `Array((), dtype=key<fry>) overlaying:\n[ 0 42]`. The data may be a tracer, so typed
 * keys flow through transformed functions like any other value.
 */
export class PRNGKeyArray {
  /** @internal The key data: uint32 [...shape, 2]. */
  readonly _data: NDArray;
  /** @internal Use random.key or random.wrapKeyData. */
  constructor(data: NDArray) {
    checkKeyData("PRNGKeyArray", data);
    this._data = data;
  }
  get shape(): number[] {
    return this._data.shape.slice(0, -1);
  }
  get ndim(): number {
    return this._data.ndim - 1;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get dtype(): KeyDType {
    return keyFry;
  }
  /** Indexes the key axes (the same items as NDArray.get); the key words are always kept. */
  get(...items: Parameters<NDArray["get"]>): PRNGKeyArray {
    if (this.ndim === 0) throw new ArgumentError("PRNGKeyArray.get: a 0-d key array cannot be indexed, got shape ()");
    const parts = items.length === 1 && typeof items[0] === "string" ? items[0].split(",").map((s) => s.trim()) : items;
    return new PRNGKeyArray(this._data.get(...parts, ":"));
  }
  /** The same keys in another shape (of the same size). */
  reshape(shape: number | readonly number[]): PRNGKeyArray {
    const s = checkShape("PRNGKeyArray.reshape", shape);
    if (sizeOf(s) !== this.size) throw new ShapeError(`PRNGKeyArray.reshape: cannot reshape key array of shape ${pyShape(this.shape)} into shape ${pyShape(s)}`);
    return new PRNGKeyArray(lax.reshape(this._data, [...s, 2]));
  }
  *[Symbol.iterator](): Iterator<PRNGKeyArray> {
    if (this.ndim === 0) throw new ArgumentError("PRNGKeyArray: iteration over a 0-d key array, got shape ()");
    for (const row of this._data) yield new PRNGKeyArray(row);
  }
  /** JAX's repr: `Array((2,), dtype=key<fry>) overlaying:` and the key data's NumPy str. */
  repr(): string {
    return `Array(${pyShape(this.shape)}, dtype=${keyFry.name}) overlaying:\n${this._data.toString()}`;
  }
  /** Python's str of a key array is its repr. */
  toString(): string {
    return this.repr();
  }
  [inspectSymbol](): string {
    return this.repr();
  }
  get [Symbol.toStringTag](): string {
    return "PRNGKeyArray";
  }
}

/**
 * Typed keys are pytree nodes with one child, their key data, so jit/vmap/grad take and return
 * them like arrays: `jit(f)(random.key(0))`, `vmap(f)(random.split(key, 8))`. (JAX treats a key
 * array as a leaf of dtype key<fry>; mapping its leading axes is the same thing, but an in_axes
 * counted from the end would land on the key words here.) Unflattening skips the data checks,
 * since transformations rebuild trees around placeholders (axis specs, tangent markers).
 */
registerPytreeNode(
  PRNGKeyArray,
  (k) => [[k._data], null] as const,
  (_aux, [data]) => Object.assign(Object.create(PRNGKeyArray.prototype) as PRNGKeyArray, { _data: data }),
);

/** What samplers accept as a key: a typed key array or raw uint32 key data (`PRNGKey`). */
export type KeyArg = PRNGKeyArray | NDArray;

/** JAX's _check_prng_key_data: uint32 data whose last axis is the key's 2 words. */
function checkKeyData(op: string, data: unknown): asserts data is NDArray {
  if (!(data instanceof NDArray))
    throw new ArgumentError(`${op}: unexpected PRNG key type, got ${describeValue(data)}; make keys with random.key(seed) or random.PRNGKey(seed)`);
  if (data.ndim < 1) throw new ShapeError(`${op}: JAX encountered invalid PRNG key data: expected key_data.ndim >= 1; got ndim=${data.ndim}`);
  if (data.shape[data.ndim - 1] !== 2)
    throw new ShapeError(`${op}: JAX encountered invalid PRNG key data: expected key_data.shape to end with (2,); got shape=${pyShape(data.shape)} for impl=threefry2x32`);
  if (data.dtype !== uint32) throw new DTypeError(`${op}: JAX encountered invalid PRNG key data: expected key_data.dtype = uint32; got dtype=${data.dtype.name}`);
}

/** A key argument unpacked: its data [...shape, 2] and whether it came raw (legacy uint32). */
export interface CheckedKey {
  data: NDArray;
  raw: boolean;
}

/** JAX's _check_prng_key: typed or raw keys; a single key unless `allowBatched`. */
export function checkKey(op: string, key: unknown, allowBatched = false): CheckedKey {
  const raw = !(key instanceof PRNGKeyArray);
  const data = key instanceof PRNGKeyArray ? key._data : key;
  checkKeyData(op, data);
  if (!allowBatched && data.ndim > 1)
    throw new ValueError(`${op} accepts a single key, but was given a key array of shape ${pyShape(raw ? data.shape : data.shape.slice(0, -1))} != (). Use vmap for batching.`);
  return { data, raw };
}

/** Results keep the caller's key form: raw in, raw out (jax_enable_custom_prng off). */
function returnKeys(raw: boolean, data: NDArray): KeyArg {
  return raw ? data : new PRNGKeyArray(data);
}

// ---- arguments: JAX's positional order plus one trailing options object ----

type Prefixes<P extends unknown[]> = P extends [...infer H, unknown] ? P | Prefixes<H> : [];
/** Positional arguments in JAX's order (any prefix), optionally followed by the options object. */
export type Args<P extends unknown[], O> = Prefixes<P> | [...Prefixes<P>, O];

/**
 * Reads `args` (what follows the key) into one record: positional values by JAX's parameter
 * names, then a trailing plain object holding any of them (camelCase) plus the keyword-only
 * options. A value given both ways is an error, as Python's "multiple values for argument".
 */
export function readArgs(op: string, args: readonly unknown[], names: readonly string[], keywordOnly: OptionSpec = {}): Record<string, any> {
  let pos = args;
  let opts: unknown;
  if (args.length && isPlainObject(args[args.length - 1])) {
    opts = args[args.length - 1];
    pos = args.slice(0, -1);
  }
  if (pos.length > names.length)
    throw new ArgumentError(`${op}: takes at most ${names.length} positional arguments after the key (${names.join(", ")}), got ${pos.length}`);
  const spec: Record<string, OptionSpec[string]> = { ...keywordOnly };
  for (const n of names) spec[n] = "any";
  const out: Record<string, any> = { ...checkOptions<Record<string, unknown>>(op, opts, spec) };
  pos.forEach((v, i) => {
    if (v === undefined) return;
    if (out[names[i]] !== undefined && out[names[i]] !== null) throw new ArgumentError(`${op}: got multiple values for argument ${names[i]}`);
    out[names[i]] = v;
  });
  return out;
}

/** A float dtype argument (default float32), with JAX's error for other kinds. */
export function floatDType(op: string, d: unknown, what = "a float dtype"): DType {
  const dt = d === undefined || d === null ? float32 : toDType(d, op);
  if (!dt.isFloat) throw new ValueError(`dtype argument to \`${op}\` must be ${what}, got ${dt.name}`);
  return dt;
}

// ---- the threefry building blocks, on key data [...B, 2] ----

const u32 = (v: number): NDArray => asArray(v, uint32);
const ones = (n: number): number[] => new Array<number>(n).fill(1);
/** lax.reshape, skipped when the shape is already right (as JAX's lax.reshape; keeps jaxprs free of no-ops). */
export function reshape(x: NDArray, shape: readonly number[]): NDArray {
  return x.ndim === shape.length && x.shape.every((d, i) => d === shape[i]) ? x : lax.reshape(x, [...shape]);
}

/** Word `i` of key data [...B, 2], shaped [...B, 1 x extraRank] to broadcast against counters. */
function keyWord(kd: NDArray, i: number, extraRank: number): NDArray {
  const B = kd.shape.slice(0, -1);
  const w = lax.slice(kd, [...B.map(() => 0), i], [...B, i + 1]);
  return reshape(w, [...B, ...ones(extraRank)]);
}

/** threefry2x32 of every key in kd [...B, 2] with the counter pairs (x0, x1) of shape S: [...B, ...S] each. */
export function hash(kd: NDArray, x0: NDArray, x1: NDArray): [NDArray, NDArray] {
  const b = kd.ndim - 1;
  const s = x0.ndim;
  const widen = (x: NDArray) => (b && s ? reshape(x, [...ones(b), ...x.shape]) : x);
  const [y0, y1] = bind(threefry2x32, [keyWord(kd, 0, s), keyWord(kd, 1, s), widen(x0), widen(x1)]);
  return [y0, y1];
}

/**
 * JAX's counter helper threefry_2x32(key, count) for a 1-d uint32 count of length L: pad odd
 * lengths with a zero, hash the first half against the second, concatenate the y0 words and
 * then the y1 words, and drop the padding. Result [...B, L].
 */
export function hashCounts(kd: NDArray, count: NDArray): NDArray {
  const B = kd.shape.slice(0, -1);
  const L = count.shape[0];
  const flat = L % 2 ? lax.concatenate([count, lax.reshape(u32(0), [1])], 0) : count;
  const h = flat.shape[0] / 2;
  const [y0, y1] = hash(kd, lax.slice(flat, [0], [h]), lax.slice(flat, [h], [2 * h]));
  const out = lax.concatenate([y0, y1], B.length);
  return L % 2 ? lax.slice(out, [...B.map(() => 0), 0], [...B, L]) : out;
}

/** The 64-bit iota over `shape` as (hi, lo) uint32 words; sizes stay below 2^31, so hi is 0. */
function iota2x32(shape: readonly number[]): [NDArray, NDArray] {
  const lo = reshape(lax.iota(uint32, sizeOf(shape)), shape);
  return [lax.broadcastInDim(u32(0), [...shape], []), lo];
}

/** Stacks equal-shaped arrays along a new last axis. */
function stackLast(xs: NDArray[]): NDArray {
  return lax.concatenate(xs.map((x) => lax.reshape(x, [...x.shape, 1])), xs[0].ndim);
}

/** split(key, shape) in the active mode: [...B, ...shape, 2]. */
export function splitData(kd: NDArray, shape: readonly number[]): NDArray {
  const B = kd.shape.slice(0, -1);
  if (config.threefryPartitionable) {
    // _threefry_split_foldlike: child i is threefry2x32(key, hi(i), lo(i)) = fold_in(key, i).
    const [hi, lo] = iota2x32(shape);
    return stackLast(hash(kd, hi, lo));
  }
  // _threefry_split_original: the counter helper over iota(2 * num), reshaped to (num, 2).
  const num = sizeOf(shape);
  return reshape(hashCounts(kd, lax.iota(uint32, 2 * num)), [...B, ...shape, 2]);
}

/** The `n` children of each key as a list of [...B, 2] arrays (JAX's `k1, k2 = _split(key)`). */
export function splitN(kd: NDArray, n: number): NDArray[] {
  const keys = splitData(kd, [n]);
  const B = kd.shape.slice(0, -1);
  return Array.from({ length: n }, (_, i) => reshape(lax.slice(keys, [...B.map(() => 0), i, 0], [...B, i + 1, 2]), [...B, 2]));
}

/** fold_in: threefry2x32(key, 0, data) in both modes (the counter helper on [0, data]). */
export function foldInData(kd: NDArray, data: NDArray): NDArray {
  return stackLast(hash(kd, u32(0), data));
}

/** Random bits of width 8/16/32 and shape `shape` for each key: [...B, ...shape]. */
export function bitsData(kd: NDArray, bitWidth: 8 | 16 | 32, shape: readonly number[]): NDArray {
  const dtype = bitWidth === 8 ? uint8 : bitWidth === 16 ? uint16 : uint32;
  const B = kd.shape.slice(0, -1);
  if (config.threefryPartitionable) {
    // Each element hashes its own 64-bit counter; narrow widths keep the low bits of b0 ^ b1.
    const [hi, lo] = iota2x32(shape);
    const [b0, b1] = hash(kd, hi, lo);
    const x = lax.bitwiseXor(b0, b1);
    return bitWidth === 32 ? x : lax.convertElementType(x, dtype);
  }
  // Classic: ceil(bw * size / 32) words from the counter helper over iota(n), so the values
  // depend on the total size. (JAX's multi-block path for 2^32 - 1 words or more cannot be
  // reached: arrays have fewer than 2^31 elements.)
  const size = sizeOf(shape);
  const n = Math.ceil((bitWidth * size) / 32);
  const words = hashCounts(kd, lax.iota(uint32, n));
  if (bitWidth === 32) return reshape(words, [...B, ...shape]);
  // Each word is cut into 32/bw pieces, least significant first (bits.view(dtype)[:size]).
  const k = 32 / bitWidth;
  const grid = [...B, n, k];
  const w = lax.broadcastInDim(words, grid, [...B.map((_, i) => i), B.length]);
  const shifts = lax.mul(lax.broadcastedIota(uint32, grid, B.length + 1), bitWidth);
  const pieces = lax.bitwiseAnd(lax.shiftRightLogical(w, shifts), 2 ** bitWidth - 1);
  const flat = lax.slice(lax.reshape(pieces, [...B, n * k]), [...B.map(() => 0), 0], [...B, size]);
  return reshape(lax.convertElementType(flat, dtype), [...B, ...shape]);
}

// ---- public: keys ----

/** Options of key / PRNGKey / wrapKeyData (JAX's `impl`, `dtype`). */
export interface KeyOptions {
  /** The PRNG implementation; only "threefry2x32" exists. */
  impl?: string | null;
  /** Alias of impl (a key dtype or its impl name), as jax.random.key's dtype=. */
  dtype?: KeyDType | string | null;
}
const KEY_OPTS: OptionSpec = { impl: "any", dtype: "any" };

function checkImpl(op: string, opts: unknown): void {
  const o = checkOptions<KeyOptions>(op, opts, KEY_OPTS);
  if (o.impl !== undefined && o.impl !== null && o.dtype !== undefined && o.dtype !== null)
    throw new ValueError(`${op}: Cannot specify both \`impl\` and \`dtype\` arguments`);
  const impl = o.impl ?? (o.dtype instanceof KeyDType ? o.dtype.impl : o.dtype === "key<fry>" ? "threefry2x32" : o.dtype);
  if (impl === undefined || impl === null || impl === "threefry2x32") return;
  if (impl === "rbg" || impl === "unsafe_rbg" || impl === "philox2x32" || impl === "philox4x32" || impl === "threefry4x32")
    throw new NotAvailableError(`${op}: the PRNG implementation "${impl}" is not available in Primal, only "threefry2x32"`);
  throw new ValueError(`${op}: unrecognized PRNG implementation "${String(impl)}". Did you mean one of: "threefry2x32"?`);
}

/**
 * JAX's threefry_seed with x64 off: [seed >> 32, seed & 0xFFFFFFFF] of an int32 seed, so the
 * high word is 0. A JS seed is first made an int64 and then an int32 (np.int64 then jnp.asarray),
 * which keeps its low 32 bits: key(-1) is [0, 4294967295] and key(2^32 + 5) is [0, 5], as in
 * eager JAX. jax_random_seed_offset is added to the int32 seed (wrapping).
 */
function seedData(op: string, seed: unknown): NDArray {
  const offset = config.read("randomSeedOffset") as number;
  if (typeof seed === "number") {
    if (!Number.isInteger(seed)) throw new DTypeError(`${op}: PRNG key seed must be an integer; got ${describeValue(seed)}`);
    if (seed >= 2 ** 63 || seed < -(2 ** 63))
      throw new ValueError(`${op}: OverflowError: Python int ${describeValue(seed)} too large to convert to C long (a seed must fit in int64)`);
    const low = Number(BigInt.asIntN(32, BigInt(seed)));
    return asArray([0, (low + offset) >>> 0], uint32, op);
  }
  if (seed instanceof PRNGKeyArray) throw new ArgumentError(`${op} accepts a scalar seed, but was given a PRNG key.`);
  if (!(seed instanceof NDArray)) throw new ArgumentError(`${op}: a seed must be an integer or an integer array, got ${describeValue(seed)}`);
  if (seed.ndim !== 0) throw new ShapeError(`${op} accepts a scalar seed, but was given an array of shape ${pyShape(seed.shape)} != (). Use vmap for batching`);
  if (!seed.dtype.isInt) throw new DTypeError(`${op}: PRNG key seed must be an integer; got ${seed.aval.str()}`);
  const s = offset ? lax.add(seed, offset) : seed;
  // A 32-bit (or narrower) seed: the high word (seed >> 32) is 0, the low word the seed cast.
  return lax.concatenate([lax.reshape(u32(0), [1]), lax.reshape(lax.convertElementType(s, uint32), [1])], 0);
}

/** A typed key from an integer seed: `random.key(42)` prints `Array((), dtype=key<fry>) overlaying:\n[ 0 42]`. */
export function key(seed: number | NDArray, opts?: KeyOptions): PRNGKeyArray {
  checkImpl("key", opts);
  return new PRNGKeyArray(seedData("key", seed));
}

/** A legacy raw key: uint32[2] holding the same bits as `key(seed)`. */
export function PRNGKey(seed: number | NDArray, opts?: KeyOptions): NDArray {
  checkImpl("PRNGKey", opts);
  return seedData("PRNGKey", seed);
}

/** The uint32 data under keys: [...shape, 2] (raw keys are returned as they are). */
export function keyData(keys: KeyArg): NDArray {
  return checkKey("key_data", keys, true).data;
}

/** Wraps uint32 key data [..., 2] as typed keys. */
export function wrapKeyData(keyBitsArray: NDArray, opts?: KeyOptions): PRNGKeyArray {
  checkImpl("wrap_key_data", opts);
  checkKeyData("wrap_key_data", keyBitsArray);
  return new PRNGKeyArray(keyBitsArray);
}

/** The implementation name behind keys: always "threefry2x32". */
export function keyImpl(keys: KeyArg): string {
  checkKey("key_impl", keys, true);
  return keyFry.impl;
}

/** The key dtype of an implementation (JAX's key_dtype). */
export function keyDtype(impl?: string): KeyDType {
  checkImpl("key_dtype", { impl });
  return keyFry;
}

// ---- public: split, foldIn, bits ----

/**
 * Splits a key into `num` new keys (or a shape of them) along a new leading axis. Typed keys give
 * typed keys and raw keys raw keys.
 */
export function split(key: PRNGKeyArray, num?: number | readonly number[]): PRNGKeyArray;
export function split(key: NDArray, num?: number | readonly number[]): NDArray;
export function split(key: KeyArg, num?: number | readonly number[]): KeyArg;
export function split(key: KeyArg, num: number | readonly number[] = 2): KeyArg {
  const k = checkKey("split", key);
  const shape = checkShape("split", num);
  return returnKeys(k.raw, splitData(k.data, shape));
}

/** Folds a 32-bit integer into a key (negative and large JS integers wrap to uint32). */
export function foldIn(key: PRNGKeyArray, data: number | NDArray): PRNGKeyArray;
export function foldIn(key: NDArray, data: number | NDArray): NDArray;
export function foldIn(key: KeyArg, data: number | NDArray): KeyArg;
export function foldIn(key: KeyArg, data: number | NDArray): KeyArg {
  const k = checkKey("fold_in", key);
  let d: NDArray;
  if (typeof data === "number") {
    if (!Number.isInteger(data)) throw new ValueError(`fold_in: data must be an integer, got ${describeValue(data)}`);
    d = u32(Number(BigInt.asUintN(32, BigInt(data))));
  } else if (data instanceof NDArray) {
    if (data.ndim !== 0) throw new ShapeError(`fold_in accepts a scalar, but was given an array of shape ${pyShape(data.shape)} != (). Use vmap for batching.`);
    if (!data.dtype.isInt && !data.dtype.isBool) throw new DTypeError(`fold_in: data must be an integer, got ${data.aval.str()}`);
    d = lax.convertElementType(data, uint32);
  } else throw new ArgumentError(`fold_in: data must be an integer or an integer scalar array, got ${describeValue(data)}`);
  return returnKeys(k.raw, foldInData(k.data, d));
}

/** Options of bits. */
export interface BitsOptions {
  shape?: number | readonly number[];
  dtype?: DTypeLike | null;
}

/**
 * Uniform random bits as unsigned integers: `bits(key, [3], "uint8")`. The default dtype is
 * uint32; uint64 becomes uint32 with JAX's x64-off warning (64-bit types do not exist here).
 */
export function bits(key: KeyArg, ...args: Args<[number | readonly number[], DTypeLike | null], BitsOptions>): NDArray {
  const k = checkKey("bits", key);
  const a = readArgs("bits", args, ["shape", "dtype"]);
  const dtype = a.dtype === undefined || a.dtype === null ? uint32 : toDType(a.dtype, "bits");
  if (!dtype.isUnsigned) throw new ValueError(`dtype argument to \`bits\` must be an unsigned int dtype, got ${dtype.name}`);
  return bitsData(k.data, dtype.bits as 8 | 16 | 32, checkShape("bits", a.shape ?? []));
}
