// A small WebAssembly binary encoder: enough of the format to write the CPU backend's kernels
// from TypeScript at run time, so users need no toolchain. It knows LEB128, the sections a
// kernel module needs (type, import of one memory, function, export, code) and the
// instructions the kernels use: integer and float scalar arithmetic and conversions,
// structured control flow, scalar and 128-bit SIMD loads/stores (plain, extending, splat,
// zero-filling and per-lane), f32x4/i32x4/f64x2 arithmetic, comparisons and conversions,
// relaxed SIMD's f32x4.relaxed_madd, and the atomic add the GEMM's threads share work with.
//
// Instructions without immediates are named by their mnemonic (`f.ins("f32x4.add")`, the
// table OPS below); memory accesses by `f.mem("f32.load", offset)`; lane accesses by
// `f.lane(...)`. Every instruction is also written to a text listing (WAT-like, one
// instruction per line, indented by block), which the inspectors show as the kernel's source.
//
// Emitting is a pure function of the builder calls: bytes out, no instantiation here. Opcode
// numbers are the WebAssembly core specification's (3.0, "Binary Format > Instructions"),
// the SIMD ones under the 0xFD prefix and bulk memory / saturating truncation under 0xFC.
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  if (n >>> 0 === n && n < 128) return [n];
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`uleb: expected a u32, got ${n}`);
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -(2 ** 31) || n > 2 ** 32 - 1) throw new RangeError(`sleb: expected an i32, got ${n}`);
  n |= 0;
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const named = (s: string): number[] => [...uleb(utf8(s).length), ...utf8(s)];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** A SIMD instruction: the 0xFD prefix and the opcode as a u32 LEB. */
const simd = (op: number): number[] => [0xfd, ...uleb(op)];

/** Natural alignment (log2 bytes) of each memory access. */
type Align = 0 | 1 | 2 | 3 | 4;

const S = (op: number): number[] => simd(op);
/** Instructions without immediates, by mnemonic. */
const OPS = {
  "unreachable": [0x00], "nop": [0x01], "drop": [0x1a], "select": [0x1b], "return": [0x0f],
  // i32
  "i32.eqz": [0x45], "i32.eq": [0x46], "i32.ne": [0x47], "i32.lt_s": [0x48], "i32.lt_u": [0x49], "i32.gt_s": [0x4a],
  "i32.gt_u": [0x4b], "i32.le_s": [0x4c], "i32.le_u": [0x4d], "i32.ge_s": [0x4e], "i32.ge_u": [0x4f],
  "i32.clz": [0x67], "i32.add": [0x6a], "i32.sub": [0x6b], "i32.mul": [0x6c], "i32.div_s": [0x6d], "i32.div_u": [0x6e],
  "i32.rem_s": [0x6f], "i32.rem_u": [0x70], "i32.and": [0x71], "i32.or": [0x72], "i32.xor": [0x73], "i32.shl": [0x74],
  "i32.shr_s": [0x75], "i32.shr_u": [0x76], "i32.extend8_s": [0xc0], "i32.extend16_s": [0xc1],
  // f32 / f64 comparisons and arithmetic
  "f32.eq": [0x5b], "f32.ne": [0x5c], "f32.lt": [0x5d], "f32.gt": [0x5e], "f32.le": [0x5f], "f32.ge": [0x60],
  "f64.eq": [0x61], "f64.ne": [0x62], "f64.lt": [0x63], "f64.gt": [0x64], "f64.le": [0x65], "f64.ge": [0x66],
  "f32.abs": [0x8b], "f32.neg": [0x8c], "f32.ceil": [0x8d], "f32.floor": [0x8e], "f32.trunc": [0x8f], "f32.nearest": [0x90],
  "f32.sqrt": [0x91], "f32.add": [0x92], "f32.sub": [0x93], "f32.mul": [0x94], "f32.div": [0x95], "f32.min": [0x96],
  "f32.max": [0x97], "f32.copysign": [0x98],
  "f64.abs": [0x99], "f64.neg": [0x9a], "f64.ceil": [0x9b], "f64.floor": [0x9c], "f64.trunc": [0x9d], "f64.nearest": [0x9e],
  "f64.sqrt": [0x9f], "f64.add": [0xa0], "f64.sub": [0xa1], "f64.mul": [0xa2], "f64.div": [0xa3], "f64.min": [0xa4], "f64.max": [0xa5],
  // conversions
  "i32.trunc_f32_s": [0xa8], "f32.convert_i32_s": [0xb2], "f32.convert_i32_u": [0xb3], "f32.demote_f64": [0xb6],
  "f64.convert_i32_s": [0xb7], "f64.convert_i32_u": [0xb8], "f64.promote_f32": [0xbb],
  "i32.reinterpret_f32": [0xbc], "f32.reinterpret_i32": [0xbe],
  "i32.trunc_sat_f32_s": [0xfc, 0x00], "i32.trunc_sat_f32_u": [0xfc, 0x01],
  // v128
  "i8x16.swizzle": S(0x0e), "i32x4.splat": S(0x11), "f32x4.splat": S(0x13), "f64x2.splat": S(0x14),
  "i32x4.eq": S(0x37), "i32x4.ne": S(0x38), "i32x4.lt_s": S(0x39), "i32x4.lt_u": S(0x3a), "i32x4.gt_s": S(0x3b),
  "i32x4.gt_u": S(0x3c), "i32x4.le_s": S(0x3d), "i32x4.le_u": S(0x3e), "i32x4.ge_s": S(0x3f), "i32x4.ge_u": S(0x40),
  "f32x4.eq": S(0x41), "f32x4.ne": S(0x42), "f32x4.lt": S(0x43), "f32x4.gt": S(0x44), "f32x4.le": S(0x45), "f32x4.ge": S(0x46),
  "f64x2.eq": S(0x47), "f64x2.ne": S(0x48), "f64x2.lt": S(0x49), "f64x2.gt": S(0x4a), "f64x2.le": S(0x4b), "f64x2.ge": S(0x4c),
  "v128.not": S(0x4d), "v128.and": S(0x4e), "v128.andnot": S(0x4f), "v128.or": S(0x50), "v128.xor": S(0x51),
  "v128.bitselect": S(0x52), "v128.any_true": S(0x53),
  "f32x4.demote_f64x2_zero": S(0x5e), "f64x2.promote_low_f32x4": S(0x5f),
  "f32x4.ceil": S(0x67), "f32x4.floor": S(0x68), "f32x4.trunc": S(0x69), "f32x4.nearest": S(0x6a),
  "i16x8.extend_low_i8x16_s": S(0x87), "i16x8.extend_low_i8x16_u": S(0x89),
  "i32x4.abs": S(0xa0), "i32x4.neg": S(0xa1), "i32x4.all_true": S(0xa3), "i32x4.bitmask": S(0xa4),
  "i32x4.extend_low_i16x8_s": S(0xa7), "i32x4.extend_low_i16x8_u": S(0xa9),
  "i32x4.shl": S(0xab), "i32x4.shr_s": S(0xac), "i32x4.shr_u": S(0xad), "i32x4.add": S(0xae), "i32x4.sub": S(0xb1),
  "i32x4.mul": S(0xb5), "i32x4.min_s": S(0xb6), "i32x4.min_u": S(0xb7), "i32x4.max_s": S(0xb8), "i32x4.max_u": S(0xb9),
  "f32x4.abs": S(0xe0), "f32x4.neg": S(0xe1), "f32x4.sqrt": S(0xe3), "f32x4.add": S(0xe4), "f32x4.sub": S(0xe5),
  "f32x4.mul": S(0xe6), "f32x4.div": S(0xe7), "f32x4.min": S(0xe8), "f32x4.max": S(0xe9),
  "f64x2.abs": S(0xec), "f64x2.neg": S(0xed), "f64x2.sqrt": S(0xef), "f64x2.add": S(0xf0), "f64x2.sub": S(0xf1),
  "f64x2.mul": S(0xf2), "f64x2.div": S(0xf3), "f64x2.min": S(0xf4), "f64x2.max": S(0xf5),
  "i32x4.trunc_sat_f32x4_s": S(0xf8), "i32x4.trunc_sat_f32x4_u": S(0xf9), "f32x4.convert_i32x4_s": S(0xfa), "f32x4.convert_i32x4_u": S(0xfb),
  "f32x4.relaxed_madd": S(0x105),
} satisfies Record<string, number[]>;
/** The mnemonic of an instruction without immediates. */
export type Op = keyof typeof OPS;

/** Memory accesses (memarg immediates): opcode and natural alignment. */
const MEM_OPS = {
  "i32.load": [[0x28], 2], "f32.load": [[0x2a], 2], "f64.load": [[0x2b], 3],
  "i32.load8_s": [[0x2c], 0], "i32.load8_u": [[0x2d], 0], "i32.load16_s": [[0x2e], 1], "i32.load16_u": [[0x2f], 1],
  "i32.store": [[0x36], 2], "f32.store": [[0x38], 2], "f64.store": [[0x39], 3], "i32.store8": [[0x3a], 0], "i32.store16": [[0x3b], 1],
  "v128.load": [S(0x00), 4], "v128.load16x4_s": [S(0x03), 3], "v128.load16x4_u": [S(0x04), 3],
  "v128.load32_splat": [S(0x09), 2], "v128.store": [S(0x0b), 4], "v128.load32_zero": [S(0x5c), 2], "v128.load64_zero": [S(0x5d), 3],
  // Threads (0xFE prefix; shared memories): [address, value] -> old value, sequentially consistent.
  "i32.atomic.rmw.add": [[0xfe, 0x1e], 2],
} satisfies Record<string, [number[], Align]>;
export type MemOp = keyof typeof MEM_OPS;

/** Lane accesses of a value (a lane index immediate). */
const LANE_OPS = { "i32x4.extract_lane": [S(0x1b), 4], "i32x4.replace_lane": [S(0x1c), 4], "f32x4.extract_lane": [S(0x1f), 4], "f32x4.replace_lane": [S(0x20), 4], "f64x2.extract_lane": [S(0x21), 2], "f64x2.replace_lane": [S(0x22), 2] } satisfies Record<string, [number[], number]>;
export type LaneOp = keyof typeof LANE_OPS;

/** Stores of one lane (memarg and a lane index). */
const STORE_LANE_OPS = { "v128.store16_lane": [S(0x59), 1, 8], "v128.store32_lane": [S(0x5a), 2, 4], "v128.store64_lane": [S(0x5b), 3, 2] } satisfies Record<string, [number[], Align, number]>;
export type StoreLaneOp = keyof typeof STORE_LANE_OPS;

/** A position in a function's code, to insert code there later (`insertAt`). */
export interface CodeMark {
  readonly code: number;
  readonly text: number;
  readonly depth: number;
}

/**
 * One function's body. Instructions are appended with `ins` (by mnemonic), `mem`, `lane` and
 * methods named after the mnemonics (`i32Add` is `i32.add`); parameters are locals 0..n-1,
 * `local(type)` declares more. Methods return `this`, so straight-line code chains.
 */
export class FunctionBuilder {
  readonly code: number[] = [];
  /** The WAT-like listing, one instruction per line (indentation depth, then the text). */
  readonly listing: [number, string][] = [];
  private readonly locals: ValType[] = [];
  private depth = 0;

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
    readonly exported = true,
  ) {}

  /** Declares a local and returns its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  /** The type of local (or parameter) `i`. */
  typeOf(i: number): ValType {
    return i < this.params.length ? this.params[i] : this.locals[i - this.params.length];
  }

  private emit(text: string, bytes: readonly number[]): this {
    for (const b of bytes) this.code.push(b);
    this.listing.push([this.depth, text]);
    return this;
  }
  private memarg(name: string, opcode: number[], align: Align, offset: number): this {
    return this.emit(`${name}${offset ? ` offset=${offset}` : ""}`, [...opcode, ...uleb(align), ...uleb(offset)]);
  }

  /** An instruction without immediates, by mnemonic. */
  ins(name: Op): this {
    return this.emit(name, OPS[name]);
  }
  /** A load or store at the address on the stack plus the constant byte `offset`. */
  mem(name: MemOp, offset = 0, align?: Align): this {
    const [opcode, natural] = MEM_OPS[name];
    return this.memarg(name, opcode, (align ?? natural) as Align, offset);
  }
  /** Extracts or replaces lane `idx`. */
  lane(name: LaneOp, idx: number): this {
    const [opcode, lanes] = LANE_OPS[name];
    if (!Number.isInteger(idx) || idx < 0 || idx >= lanes) throw new RangeError(`${name}: lane out of range, got ${idx}`);
    return this.emit(`${name} ${idx}`, [...opcode, idx]);
  }
  /** Stores lane `idx` of the vector on the stack. */
  storeLane(name: StoreLaneOp, offset: number, idx: number): this {
    const [opcode, align, lanes] = STORE_LANE_OPS[name];
    if (!Number.isInteger(idx) || idx < 0 || idx >= lanes) throw new RangeError(`${name}: lane out of range, got ${idx}`);
    return this.emit(`${name}${offset ? ` offset=${offset}` : ""} ${idx}`, [...opcode, ...uleb(align), ...uleb(offset), idx]);
  }
  /** i8x16.shuffle: byte i of the result is byte lanes[i] of the 32 bytes of the two operands. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) throw new RangeError(`i8x16.shuffle: expected 16 lane indices below 32, got ${lanes.join(",")}`);
    return this.emit(`i8x16.shuffle ${lanes.join(" ")}`, [...simd(0x0d), ...lanes]);
  }

  /** The current end of the code, to insert code there later. */
  mark(): CodeMark {
    return { code: this.code.length, text: this.listing.length, depth: this.depth };
  }
  /** Runs `emitCode` and moves what it appended to the position `at` (e.g. constants hoisted before a loop). */
  insertAt(at: CodeMark, emitCode: () => void): this {
    const c0 = this.code.length;
    const t0 = this.listing.length;
    const depth = this.depth;
    this.depth = at.depth; // (the listing's indentation at the insertion point)
    emitCode();
    if (this.depth !== at.depth) throw new Error(`wasm-encoder: insertAt in ${this.name} left ${this.depth - at.depth} block(s) open`);
    this.depth = depth;
    const code = this.code.splice(c0);
    const text = this.listing.splice(t0);
    this.code.splice(at.code, 0, ...code);
    this.listing.splice(at.text, 0, ...text);
    return this;
  }

  // Control. Blocks take no parameters and return nothing (block type 0x40).
  block(): this {
    this.emit("block", [0x02, 0x40]);
    this.depth++;
    return this;
  }
  loop(): this {
    this.emit("loop", [0x03, 0x40]);
    this.depth++;
    return this;
  }
  if(): this {
    this.emit("if", [0x04, 0x40]);
    this.depth++;
    return this;
  }
  else(): this {
    this.depth--;
    this.emit("else", [0x05]);
    this.depth++;
    return this;
  }
  end(): this {
    this.depth--;
    return this.emit("end", [0x0b]);
  }
  /** Branch to the enclosing label `depth` levels out (0 = innermost). */
  br(depth: number): this {
    return this.emit(`br ${depth}`, [0x0c, ...uleb(depth)]);
  }
  brIf(depth: number): this {
    return this.emit(`br_if ${depth}`, [0x0d, ...uleb(depth)]);
  }
  return(): this {
    return this.ins("return");
  }
  call(index: number): this {
    return this.emit(`call ${index}`, [0x10, ...uleb(index)]);
  }
  drop(): this {
    return this.ins("drop");
  }
  select(): this {
    return this.ins("select");
  }

  // Locals.
  get(i: number): this {
    return this.emit(`local.get ${i}`, [0x20, ...uleb(i)]);
  }
  set(i: number): this {
    return this.emit(`local.set ${i}`, [0x21, ...uleb(i)]);
  }
  tee(i: number): this {
    return this.emit(`local.tee ${i}`, [0x22, ...uleb(i)]);
  }

  // Constants.
  i32Const(n: number): this {
    return this.emit(`i32.const ${n | 0}`, [0x41, ...sleb(n)]);
  }
  f32Const(x: number): this {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return this.emit(`f32.const ${numText(Math.fround(x))}`, [0x43, ...b]);
  }
  f64Const(x: number): this {
    const b = new Uint8Array(new Float64Array([x]).buffer);
    return this.emit(`f64.const ${numText(x)}`, [0x44, ...b]);
  }
  v128Const(bytes: readonly number[] = new Array(16).fill(0)): this {
    if (bytes.length !== 16) throw new RangeError(`v128.const: expected 16 bytes, got ${bytes.length}`);
    const words = new Int32Array(new Uint8Array(bytes).buffer);
    return this.emit(`v128.const i32x4 ${[...words].map((w) => `0x${(w >>> 0).toString(16)}`).join(" ")}`, [...simd(0x0c), ...bytes]);
  }

  // i32 (the GEMM's names).
  i32Eqz(): this {
    return this.ins("i32.eqz");
  }
  i32Eq(): this {
    return this.ins("i32.eq");
  }
  i32Ne(): this {
    return this.ins("i32.ne");
  }
  i32LtS(): this {
    return this.ins("i32.lt_s");
  }
  i32LtU(): this {
    return this.ins("i32.lt_u");
  }
  i32GtS(): this {
    return this.ins("i32.gt_s");
  }
  i32LeS(): this {
    return this.ins("i32.le_s");
  }
  i32GeS(): this {
    return this.ins("i32.ge_s");
  }
  i32Add(): this {
    return this.ins("i32.add");
  }
  i32Sub(): this {
    return this.ins("i32.sub");
  }
  i32Mul(): this {
    return this.ins("i32.mul");
  }
  i32And(): this {
    return this.ins("i32.and");
  }
  i32Shl(): this {
    return this.ins("i32.shl");
  }

  // Memory (memory 0). `offset` is the constant byte offset added to the address operand.
  i32Load(offset = 0): this {
    return this.mem("i32.load", offset);
  }
  f32Load(offset = 0): this {
    return this.mem("f32.load", offset);
  }
  f32Store(offset = 0): this {
    return this.mem("f32.store", offset);
  }
  /** memory.fill (bulk memory): [dest, byte, length] -> []. */
  memoryFill(): this {
    return this.emit("memory.fill", [0xfc, ...uleb(11), 0x00]);
  }
  /** memory.copy (bulk memory): [dest, src, length] -> []. */
  memoryCopy(): this {
    return this.emit("memory.copy", [0xfc, ...uleb(10), 0x00, 0x00]);
  }

  // 128-bit SIMD (the GEMM's names).
  v128Load(offset = 0, align: Align = 4): this {
    return this.mem("v128.load", offset, align);
  }
  /** Loads one f32 and splats it to the four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.mem("v128.load32_splat", offset);
  }
  v128Store(offset = 0, align: Align = 4): this {
    return this.mem("v128.store", offset, align);
  }
  f32x4Splat(): this {
    return this.ins("f32x4.splat");
  }
  f32x4Add(): this {
    return this.ins("f32x4.add");
  }
  f32x4Mul(): this {
    return this.ins("f32x4.mul");
  }
  /** Relaxed SIMD: [a, b, c] -> a * b + c, fused or not as the host does. */
  f32x4RelaxedMadd(): this {
    return this.ins("f32x4.relaxed_madd");
  }

  /** The function's code entry: local declarations (run-length grouped) and the body. */
  encode(): number[] {
    if (this.depth !== 0) throw new Error(`wasm-encoder: function ${this.name} has ${this.depth} unclosed block(s)`);
    const groups: number[][] = [];
    for (let i = 0; i < this.locals.length; ) {
      let j = i;
      while (j < this.locals.length && this.locals[j] === this.locals[i]) j++;
      groups.push([...uleb(j - i), VALTYPE[this.locals[i]]]);
      i = j;
    }
    const body = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }

  /** The function as WAT-like text: signature, locals, one instruction per line. */
  text(): string {
    const sig = [...this.params.map((t, i) => `(param $${i} ${t})`), ...this.results.map((t) => `(result ${t})`)].join(" ");
    const locals = this.locals.map((t, i) => `$${this.params.length + i} ${t}`);
    const lines = [`(func $${this.name}${this.exported ? ` (export "${this.name}")` : ""} ${sig}`];
    for (let i = 0; i < locals.length; i += 8) lines.push(`  (local ${locals.slice(i, i + 8).join(", ")})`);
    for (const [depth, l] of this.listing) lines.push("  ".repeat(depth + 1) + l);
    lines.push(")");
    return lines.join("\n");
  }
}

function numText(x: number): string {
  return Number.isNaN(x) ? "nan" : x === Infinity ? "inf" : x === -Infinity ? "-inf" : Object.is(x, -0) ? "-0" : String(x);
}

export interface MemoryImport {
  module: string;
  name: string;
  /** Initial size in 64 KiB pages. */
  minPages: number;
  /** A shared memory (threads) needs a maximum. */
  shared?: { maxPages: number };
}

/**
 * A module of functions over one imported memory. Functions are numbered in the order they
 * were added (there are no imported functions), which is the index `call` takes.
 */
export class ModuleBuilder {
  private readonly funcs: FunctionBuilder[] = [];
  constructor(private readonly memory: MemoryImport) {}

  /** Adds a function; returns its builder (its index is `indexOf`). */
  func(name: string, params: ValType[], results: ValType[] = [], exported = true): FunctionBuilder {
    const f = new FunctionBuilder(name, params, results, exported);
    this.funcs.push(f);
    return f;
  }
  indexOf(f: FunctionBuilder): number {
    return this.funcs.indexOf(f);
  }

  encode(): Uint8Array {
    const sigs: string[] = [];
    const sigOf = (f: FunctionBuilder): number => {
      const key = `${f.params.join(",")}->${f.results.join(",")}`;
      if (!sigs.includes(key)) sigs.push(key);
      return sigs.indexOf(key);
    };
    const typeIdx = this.funcs.map(sigOf);
    const types = sigs.map((s) => {
      const [ps, rs] = s.split("->").map((x) => (x ? (x.split(",") as ValType[]) : []));
      return [0x60, ...vec(ps.map((t) => [VALTYPE[t]])), ...vec(rs.map((t) => [VALTYPE[t]]))];
    });
    const m = this.memory;
    const limits = m.shared ? [0x03, ...uleb(m.minPages), ...uleb(m.shared.maxPages)] : [0x00, ...uleb(m.minPages)];
    const imports = [[...named(m.module), ...named(m.name), 0x02, ...limits]];
    const exports = this.funcs.flatMap((f, i) => (f.exported ? [[...named(f.name), 0x00, ...uleb(i)]] : []));
    return new Uint8Array([
      ...[0x00, 0x61, 0x73, 0x6d], // "\0asm"
      ...[0x01, 0x00, 0x00, 0x00], // version 1
      ...section(1, vec(types)),
      ...section(2, vec(imports)),
      ...section(3, vec(typeIdx.map((t) => uleb(t)))),
      ...section(7, vec(exports)),
      ...section(10, vec(this.funcs.map((f) => f.encode()))),
    ]);
  }
}
