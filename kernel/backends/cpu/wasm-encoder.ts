// A small WebAssembly binary encoder: enough of the format to write the CPU backend's kernels
// from TypeScript at run time, so users need no toolchain. It knows LEB128, the sections a
// kernel module needs (type, import of one memory, function, export, code) and the
// instructions the kernels use (integer arithmetic, structured control flow, scalar and 128-bit
// SIMD loads/stores, f32x4 arithmetic, and relaxed SIMD's f32x4.relaxed_madd).
//
// Emitting is a pure function of the builder calls: bytes out, no instantiation here. Opcode
// numbers are the WebAssembly core specification's (3.0, "Binary Format > Instructions"),
// the SIMD ones under the 0xFD prefix and bulk memory under 0xFC.

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
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

/**
 * One function's body. Instructions are appended with methods named after the mnemonics
 * (`i32Add` is `i32.add`); parameters are locals 0..n-1, `local(type)` declares more. Methods
 * return `this`, so straight-line code chains.
 */
export class FunctionBuilder {
  readonly code: number[] = [];
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

  private op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
  private mem(opcode: number[], align: Align, offset: number): this {
    return this.op(...opcode, ...uleb(align), ...uleb(offset));
  }

  // Control. Blocks take no parameters and return nothing (block type 0x40).
  block(): this {
    this.depth++;
    return this.op(0x02, 0x40);
  }
  loop(): this {
    this.depth++;
    return this.op(0x03, 0x40);
  }
  if(): this {
    this.depth++;
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  end(): this {
    this.depth--;
    return this.op(0x0b);
  }
  /** Branch to the enclosing label `depth` levels out (0 = innermost). */
  br(depth: number): this {
    return this.op(0x0c, ...uleb(depth));
  }
  brIf(depth: number): this {
    return this.op(0x0d, ...uleb(depth));
  }
  return(): this {
    return this.op(0x0f);
  }
  call(index: number): this {
    return this.op(0x10, ...uleb(index));
  }
  drop(): this {
    return this.op(0x1a);
  }
  select(): this {
    return this.op(0x1b);
  }

  // Locals.
  get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }

  // i32.
  i32Const(n: number): this {
    return this.op(0x41, ...sleb(n));
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Eq(): this {
    return this.op(0x46);
  }
  i32Ne(): this {
    return this.op(0x47);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32GtS(): this {
    return this.op(0x4a);
  }
  i32LeS(): this {
    return this.op(0x4c);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Shl(): this {
    return this.op(0x74);
  }

  // Memory (memory 0). `offset` is the constant byte offset added to the address operand.
  i32Load(offset = 0): this {
    return this.mem([0x28], 2, offset);
  }
  f32Load(offset = 0): this {
    return this.mem([0x2a], 2, offset);
  }
  f32Store(offset = 0): this {
    return this.mem([0x38], 2, offset);
  }
  f32Const(x: number): this {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return this.op(0x43, ...b);
  }
  /** memory.fill (bulk memory): [dest, byte, length] -> []. */
  memoryFill(): this {
    return this.op(0xfc, ...uleb(11), 0x00);
  }
  /** memory.copy (bulk memory): [dest, src, length] -> []. */
  memoryCopy(): this {
    return this.op(0xfc, ...uleb(10), 0x00, 0x00);
  }

  // 128-bit SIMD.
  v128Load(offset = 0, align: Align = 4): this {
    return this.mem(simd(0x00), align, offset);
  }
  /** Loads one f32 and splats it to the four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.mem(simd(0x09), 2, offset);
  }
  v128Store(offset = 0, align: Align = 4): this {
    return this.mem(simd(0x0b), align, offset);
  }
  v128Const(bytes: readonly number[] = new Array(16).fill(0)): this {
    if (bytes.length !== 16) throw new RangeError(`v128.const: expected 16 bytes, got ${bytes.length}`);
    return this.op(...simd(0x0c), ...bytes);
  }
  f32x4Splat(): this {
    return this.op(...simd(0x13));
  }
  f32x4Add(): this {
    return this.op(...simd(0xe4));
  }
  f32x4Mul(): this {
    return this.op(...simd(0xe6));
  }
  /** Relaxed SIMD: [a, b, c] -> a * b + c, fused or not as the host does. */
  f32x4RelaxedMadd(): this {
    return this.op(...simd(0x105));
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
