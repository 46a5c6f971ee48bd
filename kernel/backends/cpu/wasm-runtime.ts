// The host's WebAssembly API, typed here because the kernel's tsconfig has no DOM lib (and
// @types/node declares the namespace's types only). The one place that touches the global.

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<object>;
}

/** WebAssembly of this runtime, or undefined where there is none. */
export const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Bytes of a module are valid here (false where WebAssembly is missing). */
export function validateWasm(bytes: Uint8Array): boolean {
  return !!wasmApi && wasmApi.validate(bytes);
}

/** Compiles a module (synchronously; the kernels are small). */
export function compileWasm(bytes: Uint8Array): object {
  if (!wasmApi) throw new Error("compileWasm: this runtime has no WebAssembly");
  return new wasmApi.Module(bytes);
}

/** Instantiates a module (bytes or compiled) whose only import is env.memory; returns its exports. */
export function instantiateWasm<T>(module: Uint8Array | object, memory: WasmMemory): T {
  if (!wasmApi) throw new Error("instantiateWasm: this runtime has no WebAssembly");
  const compiled = module instanceof Uint8Array ? compileWasm(module) : module;
  return new wasmApi.Instance(compiled, { env: { memory } }).exports as unknown as T;
}

// Modules compiled ahead of need, off the main thread (WebAssembly.compile), by their bytes.
const precompiled = new Map<string, object | Promise<object>>();
const keyOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");

/**
 * Starts compiling a module that will be needed soon, in the background: a later
 * `compileWasmPrecompiled` with the same bytes gets it without compiling (if it is ready by then).
 */
export function precompileWasm(bytes: Uint8Array): void {
  if (!wasmApi) return;
  const key = keyOf(bytes);
  if (precompiled.has(key)) return;
  const p = wasmApi.compile(bytes).then(
    (m) => void precompiled.set(key, m),
    () => void precompiled.delete(key),
  );
  precompiled.set(key, p as unknown as Promise<object>);
}

/** compileWasm, reusing the module `precompileWasm` made from the same bytes when it is ready. */
export function compileWasmPrecompiled(bytes: Uint8Array): object {
  const m = precompiled.get(keyOf(bytes));
  return m && !(m instanceof Promise) ? m : compileWasm(bytes);
}
