// Dtypes and JAX's type promotion. Primal runs with JAX's x64 mode off: the widest types are
// 32-bit, and a request for a 64-bit dtype is narrowed with a warning, as JAX does.
// Promotion follows JAX's lattice (docs/type_promotion.rst), weak types included.

import { DTypeError } from "./errors";
import { describeValue } from "./shape";

/** The dtype names Primal stores. */
export type DTypeName =
  | "bool"
  | "int8"
  | "int16"
  | "int32"
  | "uint8"
  | "uint16"
  | "uint32"
  | "float16"
  | "bfloat16"
  | "float32";

/** One kind letter per family, as NumPy's `dtype.kind`. */
export type DTypeKind = "b" | "i" | "u" | "f";

/** The typed array that holds a dtype's elements on the host. f16/bf16 hold bit patterns. */
export type Storage = Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

type StorageCtor = { new (n: number): Storage; new (b: ArrayBufferLike, off?: number, len?: number): Storage; BYTES_PER_ELEMENT: number };

/** Set once the registered dtypes below exist: from then on the constructor refuses. */
let sealed = false;

/**
 * A dtype: a value (np.float32) that prints as its name. The ten dtypes below are the only
 * ones: the constructor is internal, and a dtype built by hand is refused (the kernels only
 * know these).
 */
export class DType {
  constructor(
    readonly name: DTypeName,
    readonly kind: DTypeKind,
    readonly bits: number,
    /** JAX's short name used in jaxprs: f32, i32, bool, bf16. */
    readonly short: string,
    readonly storage: StorageCtor,
  ) {
    if (sealed)
      throw new DTypeError(`DType: dtypes cannot be constructed, use one of np.${Object.keys(DTYPES).join(", np.")} or its name, got ${describeValue(name)}`);
  }
  /** Bytes per element. */
  get itemsize(): number {
    return this.bits === 1 ? 1 : this.bits / 8;
  }
  get isFloat(): boolean {
    return this.kind === "f";
  }
  get isInt(): boolean {
    return this.kind === "i" || this.kind === "u";
  }
  get isUnsigned(): boolean {
    return this.kind === "u";
  }
  get isBool(): boolean {
    return this.kind === "b";
  }
  toString(): string {
    return this.name;
  }
  toJSON(): string {
    return this.name;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.name;
  }
}

export const bool = new DType("bool", "b", 8, "bool", Uint8Array);
export const int8 = new DType("int8", "i", 8, "i8", Int8Array);
export const int16 = new DType("int16", "i", 16, "i16", Int16Array);
export const int32 = new DType("int32", "i", 32, "i32", Int32Array);
export const uint8 = new DType("uint8", "u", 8, "u8", Uint8Array);
export const uint16 = new DType("uint16", "u", 16, "u16", Uint16Array);
export const uint32 = new DType("uint32", "u", 32, "u32", Uint32Array);
export const float16 = new DType("float16", "f", 16, "f16", Uint16Array);
export const bfloat16 = new DType("bfloat16", "f", 16, "bf16", Uint16Array);
export const float32 = new DType("float32", "f", 32, "f32", Float32Array);

/** Every dtype, by name. */
export const DTYPES: Readonly<Record<DTypeName, DType>> = {
  bool, int8, int16, int32, uint8, uint16, uint32, float16, bfloat16, float32,
};
sealed = true;

/** 64-bit names and what they narrow to with x64 off. */
const NARROWED: Record<string, DType> = { float64: float32, int64: int32, uint64: uint32, double: float32 };

/** What the user may pass where a dtype is expected. */
export type DTypeLike = DType | DTypeName | "float64" | "int64" | "uint64";

let warn: (msg: string) => void = (msg) => process.emitWarning(msg, "UserWarning");
/** Redirects the x64-narrowing warning (the cell runner sends it to the cell's output). */
export function setDTypeWarningHandler(fn: (msg: string) => void): void {
  warn = fn;
}

/** Resolves a dtype argument; `op` names the caller in errors. */
export function toDType(d: DTypeLike | unknown, op = "dtype"): DType {
  if (d instanceof DType) {
    // Only the registered objects: an instance made another way (Object.create) is refused.
    if (Object.hasOwn(DTYPES, d.name) && (DTYPES as Record<string, DType>)[d.name] === d) return d;
    throw new DTypeError(`${op}: not a registered dtype, got a DType named ${describeValue(d.name)} (known: ${Object.keys(DTYPES).join(", ")})`);
  }
  if (typeof d === "string") {
    // Own keys only: "toString" or "constructor" must not find Object.prototype's members.
    const found = Object.hasOwn(DTYPES, d) ? (DTYPES as Record<string, DType>)[d] : undefined;
    if (found) return found;
    const narrowed = Object.hasOwn(NARROWED, d) ? NARROWED[d] : undefined;
    if (narrowed) {
      warn(`Explicitly requested dtype ${d} requested in ${op} is not available, and will be truncated to dtype ${narrowed.name}. To enable more dtypes, set the jax_enable_x64 configuration option or the JAX_ENABLE_X64 shell environment variable. See https://github.com/jax-ml/jax#current-gotchas for more.`);
      return narrowed;
    }
    throw new DTypeError(`${op}: unknown dtype name, got ${describeValue(d)} (known: ${Object.keys(DTYPES).join(", ")})`);
  }
  throw new DTypeError(`${op}: expected a dtype or a dtype name, got ${describeValue(d)}`);
}

// ---- Promotion lattice (jax/_src/dtypes.py `_type_promotion_lattice`), complex omitted. ----
// Nodes: concrete dtypes plus the weak "Python" types i* and f*. 64-bit nodes exist in the
// lattice and are canonicalised to 32 bits afterwards, as x64-off JAX does.
type Node = "b1" | "i*" | "f*" | "u1" | "u2" | "u4" | "u8" | "i1" | "i2" | "i4" | "i8" | "bf" | "f2" | "f4" | "f8";
const EDGES: Record<Node, Node[]> = {
  b1: ["i*"],
  "i*": ["u1", "i1"],
  u1: ["i2", "u2"],
  u2: ["i4", "u4"],
  u4: ["i8", "u8"],
  u8: ["f*"],
  i1: ["i2"],
  i2: ["i4"],
  i4: ["i8"],
  i8: ["f*"],
  "f*": ["bf", "f2"],
  bf: ["f4"],
  f2: ["f4"],
  f4: ["f8"],
  f8: [],
};
const UPPER: Record<string, Set<Node>> = {};
for (const n of Object.keys(EDGES) as Node[]) {
  const seen = new Set<Node>([n]);
  const stack = [n];
  while (stack.length) for (const m of EDGES[stack.pop()!]) if (!seen.has(m)) (seen.add(m), stack.push(m));
  UPPER[n] = seen;
}
const NODE_OF: Record<DTypeName, Node> = {
  bool: "b1", int8: "i1", int16: "i2", int32: "i4", uint8: "u1", uint16: "u2", uint32: "u4",
  float16: "f2", bfloat16: "bf", float32: "f4",
};
const DTYPE_OF: Record<Node, DType> = {
  b1: bool, "i*": int32, "f*": float32, u1: uint8, u2: uint16, u4: uint32, u8: uint32,
  i1: int8, i2: int16, i4: int32, i8: int32, bf: bfloat16, f2: float16, f4: float32, f8: float32,
};

function leastUpperBound(nodes: Node[]): Node {
  let common: Node[] | null = null;
  for (const n of nodes) {
    const up = [...UPPER[n]];
    common = common ? common.filter((m) => UPPER[n].has(m)) : up;
  }
  // The LUB is the element of the common upper bounds that is below all the others.
  const lub = common!.find((c) => common!.every((d) => UPPER[c].has(d)));
  if (!lub) throw new DTypeError(`promote: no common type, got ${nodes.join(", ")}`);
  return lub;
}

/** An input to promotion: its dtype and whether it is weakly typed (a JS scalar). */
export interface TypedLike {
  dtype: DType;
  weakType: boolean;
}

/** JAX's `_lattice_result_type`: the dtype and weak type of combining the inputs. */
export function resultType(...args: TypedLike[]): { dtype: DType; weakType: boolean } {
  if (args.length === 0) throw new DTypeError("resultType: at least one argument is required, got none");
  if (args.length === 1) return { dtype: args[0].dtype, weakType: args[0].weakType };
  const allWeak = args.every((a) => a.weakType);
  if (args.every((a) => a.dtype === args[0].dtype) && !allWeak) return { dtype: args[0].dtype, weakType: false };
  let node: Node;
  let weak: boolean;
  if (allWeak) {
    node = leastUpperBound(args.map((a) => NODE_OF[a.dtype.name]));
    weak = true;
  } else {
    node = leastUpperBound(args.map((a) => (a.weakType ? weakNode(a.dtype) : NODE_OF[a.dtype.name])));
    weak = node === "i*" || node === "f*";
  }
  const dtype = DTYPE_OF[node];
  return { dtype, weakType: weak && dtype !== bool };
}

function weakNode(d: DType): Node {
  if (d.isBool) return "b1";
  return d.isFloat ? "f*" : "i*";
}

/** The dtype of a JS value's inferred array: bool for booleans, int32 for integers, float32 otherwise. */
export function inferDType(values: Iterable<number | boolean>): DType {
  let sawBool = false;
  let sawNum = false;
  let allInt = true;
  for (const v of values) {
    if (typeof v === "boolean") sawBool = true;
    else {
      sawNum = true;
      if (!Number.isInteger(v)) allInt = false;
    }
  }
  if (!sawNum) return sawBool ? bool : float32;
  return allInt ? int32 : float32;
}

/** Largest and smallest finite values of a dtype (for clipping, fill values, argmax padding). */
export function finfoOrIinfo(d: DType): { min: number; max: number } {
  switch (d.name) {
    case "bool": return { min: 0, max: 1 };
    case "int8": return { min: -128, max: 127 };
    case "int16": return { min: -32768, max: 32767 };
    case "int32": return { min: -2147483648, max: 2147483647 };
    case "uint8": return { min: 0, max: 255 };
    case "uint16": return { min: 0, max: 65535 };
    case "uint32": return { min: 0, max: 4294967295 };
    case "float16": return { min: -65504, max: 65504 };
    case "bfloat16": return { min: -3.3895313892515355e38, max: 3.3895313892515355e38 };
    case "float32": return { min: -3.4028234663852886e38, max: 3.4028234663852886e38 };
  }
}
