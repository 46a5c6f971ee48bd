// Installs the jit-all wrappers (wrap.ts) on the public API: every function of the np, lax and
// nn namespaces, the NDArray methods of kernel/api/array-methods.ts, `x.get`, `x.astype` and
// the `x.at(...)` updates. The wrappers replace the exports of the modules that define the
// functions (kernel/api/ufuncs.ts, reductions.ts, ...), not only the namespace objects, so a
// test that imports `sum` from kernel/api/reductions gets the wrapper too.
//
// How: under vitest (vite-node), a module's exports object holds one configurable getter per
// export, and a re-export (`export * from`, `export { x } from`) reads the defining module's
// exports object at each access. Redefining the getter in the defining module therefore changes
// what every importer sees from then on, including `np.x` in kernel/index.ts. Calls inside the
// kernel between its own modules see the wrappers as well; they pass through while tracing.
//
// Random functions, devices, printing and tree utilities are not jitted: random functions are
// wrapped to run unchanged, with the API calls they make running eagerly, as before.

import { NDArray } from "../../kernel/core/ndarray";
import * as apiLax from "../../kernel/api/lax";
import * as comparisons from "../../kernel/api/comparisons";
import * as contractions from "../../kernel/api/contractions";
import * as convert from "../../kernel/api/convert";
import * as creation from "../../kernel/api/creation";
import * as indexUpdate from "../../kernel/api/index-update";
import * as nnApi from "../../kernel/api/nn";
import * as randomApi from "../../kernel/api/random";
import * as randomGamma from "../../kernel/api/random-gamma";
import * as randomKeys from "../../kernel/api/random-keys";
import * as randomSamplers from "../../kernel/api/random-samplers";
import * as reductions from "../../kernel/api/reductions";
import * as shapeOps from "../../kernel/api/shape-ops";
import * as sorting from "../../kernel/api/sorting";
import * as ufuncs from "../../kernel/api/ufuncs";
import { lax, nn, np } from "../../kernel/index";
import * as laxTop from "../../kernel/lax";
import { IndexUpdateRef } from "../../kernel/api/index-update";
import { isJitAllWrapper, jitAllWrap, passThroughWrap } from "./wrap";

type Fn = (...args: any[]) => any;

/** A bool array among the arguments: an index mask, which must be concrete (JAX's rule too). */
function hasBoolArray(v: unknown, depth = 0): boolean {
  if (v instanceof NDArray) return v.dtype.isBool && v.ndim > 0;
  if (Array.isArray(v) && depth < 8) return v.some((x) => hasBoolArray(x, depth + 1));
  return false;
}

/**
 * Calls that must run unchanged, with why. A data-dependent output shape cannot be traced (JAX
 * raises under jit as well); an array given where a static value is expected is read on the host.
 */
const PASS_IF: Record<string, (args: unknown[]) => string | null> = {
  "np.nonzero": () => "output shape depends on the values (computed on the host)",
  "np.argwhere": () => "output shape depends on the values",
  "np.flatnonzero": () => "output shape depends on the values",
  "np.unique": () => "output shape depends on the values",
  "np.where": (a) => (a.length === 1 || (a[1] === undefined && a[2] === undefined) ? "where(cond) alone is nonzero(cond)" : null),
  "np.split": (a) => (a[1] instanceof NDArray ? "split indices given as an array are static values" : null),
  "np.arraySplit": (a) => (a[1] instanceof NDArray ? "split indices given as an array are static values" : null),
  "np.repeat": (a) => {
    const o = a[3] ?? a[2];
    const total = typeof o === "object" && o !== null && !(o instanceof NDArray) && (o as { totalRepeatLength?: unknown }).totalRepeatLength != null;
    return a[1] instanceof NDArray && !total ? "array repeats without totalRepeatLength: output shape depends on the values" : null;
  },
  "np.pad": (a) => (a[1] instanceof NDArray ? "pad widths given as an array are static values" : null),
  "x.get": (a) => (a.slice(1).some((x) => hasBoolArray(x)) ? "boolean mask index: output shape depends on the values" : null),
  "x.at": (a) => (hasBoolArray(a[1]) ? "boolean mask index: output shape depends on the values" : null),
};

/** Public functions left as they are: printing options (side effects, no arrays), an internal helper. */
const NOT_WRAPPED = new Set(["np.setPrintOptions", "np.getPrintOptions", "lax.laxArgs"]);

/** The names of the functions in a namespace (classes left out). */
function functionsOf(ns: object): Map<Fn, string[]> {
  const out = new Map<Fn, string[]>();
  for (const k of Object.keys(ns)) {
    const v = (ns as Record<string, unknown>)[k];
    if (typeof v !== "function" || /^class[\s{]/.test(Function.prototype.toString.call(v))) continue;
    const list = out.get(v as Fn) ?? [];
    list.push(k);
    out.set(v as Fn, list);
  }
  return out;
}

function redefine(mod: object, key: string, value: unknown): void {
  Object.defineProperty(mod, key, { enumerable: true, configurable: true, get: () => value });
}

let installed = false;

/** Installs the wrappers (once per module instance, i.e. once per test file). */
export function installJitAll(): void {
  if (installed) return;
  installed = true;
  // The public functions, by identity, with their public names (for PASS_IF and the records).
  const publicNames = new Map<Fn, string>();
  for (const [prefix, ns] of [["np", np], ["lax", lax], ["nn", nn]] as const)
    for (const [f, names] of functionsOf(ns)) if (!publicNames.has(f) && !NOT_WRAPPED.has(`${prefix}.${names[0]}`)) publicNames.set(f, `${prefix}.${names[0]}`);
  const creationFns = new Set(Object.values(creation).filter((v) => typeof v === "function") as Fn[]);
  const wrappers = new Map<Fn, Fn>();
  const wrapperOf = (f: Fn): Fn => {
    let w = wrappers.get(f);
    if (!w) {
      const name = publicNames.get(f)!;
      wrappers.set(f, (w = jitAllWrap(name, f, { passIf: PASS_IF[name], passWithoutArrays: creationFns.has(f) })));
    }
    return w;
  };
  const sources = [creation, ufuncs, reductions, shapeOps, contractions, sorting, comparisons, indexUpdate, convert, apiLax, laxTop, nnApi];
  for (const mod of sources)
    for (const k of Object.keys(mod)) {
      const v = (mod as Record<string, unknown>)[k];
      if (typeof v === "function" && publicNames.has(v as Fn)) redefine(mod, k, wrapperOf(v as Fn));
    }
  // Every public name must now resolve to a wrapper: a function defined elsewhere would be missed silently.
  const missed: string[] = [];
  for (const [prefix, ns] of [["np", np], ["lax", lax], ["nn", nn]] as const)
    for (const [f, names] of functionsOf(ns)) if (!isJitAllWrapper(f) && !NOT_WRAPPED.has(`${prefix}.${names[0]}`)) missed.push(...names.map((n) => `${prefix}.${n}`));
  if (missed.length) throw new Error(`jit-all: not wrapped (defined in a module install.ts does not list): ${missed.join(", ")}`);

  // Random functions run unchanged; the API calls they make run eagerly.
  for (const mod of [randomKeys, randomSamplers, randomGamma])
    for (const k of Object.keys(mod)) {
      const v = (mod as Record<string, unknown>)[k];
      if (typeof v === "function" && !/^class[\s{]/.test(Function.prototype.toString.call(v))) redefine(mod, k, passThroughWrap(`random.${k}`, v as Fn));
    }
  void randomApi;

  // NDArray methods: `this` becomes the first argument.
  const P = NDArray.prototype as unknown as Record<string, unknown>;
  const METHODS = [
    "add", "sub", "mul", "div", "floorDiv", "mod", "pow", "neg", "abs", "matmul", "lt", "le", "gt", "ge", "eq", "ne", "and", "or", "xor", "not",
    "reshape", "ravel", "flatten", "transpose", "swapaxes", "squeeze", "repeat", "diagonal", "trace", "sum", "prod", "mean", "var", "std", "max",
    "min", "argmax", "argmin", "all", "any", "cumsum", "cumprod", "ptp", "clip", "round", "dot", "sort", "argsort", "take", "copy", "astype", "get",
  ];
  for (const m of METHODS) {
    const orig = P[m] as Fn;
    if (typeof orig !== "function") throw new Error(`jit-all: NDArray has no method ${m}`);
    const w = jitAllWrap(`x.${m}`, (x: NDArray, ...a: unknown[]) => orig.apply(x, a), { passIf: PASS_IF[`x.${m}`] ?? (m === "repeat" ? PASS_IF["np.repeat"] : undefined) });
    Object.defineProperty(P, m, { value: function (this: NDArray, ...a: unknown[]) { return w(this, ...a); }, writable: true, configurable: true });
  }
  for (const g of ["T", "mT"]) {
    const d = Object.getOwnPropertyDescriptor(P, g)!;
    const get = d.get!;
    const w = jitAllWrap(`x.${g}`, (x: NDArray) => get.call(x));
    Object.defineProperty(P, g, { get(this: NDArray) { return w(this); }, configurable: true });
  }
  // x.at(index).set(values) and the other updates: the array, the index arrays and the values are traced.
  const R = IndexUpdateRef.prototype as unknown as Record<string, Fn>;
  for (const m of ["get", "set", "add", "multiply", "mul", "min", "max"]) {
    const orig = R[m];
    const w = jitAllWrap(`x.at.${m}`, (x: NDArray, index: unknown[], ...a: unknown[]) => orig.apply(new IndexUpdateRef(x, index as never), a), { passIf: PASS_IF["x.at"] });
    Object.defineProperty(IndexUpdateRef.prototype, m, {
      value: function (this: IndexUpdateRef, ...a: unknown[]) { return w(this.array, [...this.index], ...a); }, writable: true, configurable: true,
    });
  }
}
