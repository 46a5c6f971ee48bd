// Pytrees (JAX's jax.tree_util): the containers every transformation takes and returns. grad,
// vmap and jit flatten their arguments to a list of leaves plus a PyTreeDef, work on the leaves,
// and unflatten the results, so this is the one place that decides what a container is.
//
// What is a node (everything else is a leaf):
//   - JS arrays (Array.isArray, so arrays made in a cell's vm context count too);
//   - plain objects: prototype Object.prototype or null, from any realm (see isPlainObject);
//     their keys are visited in sorted order, as JAX sorts dict keys, so `{b, a}` and `{a, b}`
//     have the same structure and the same leaf order;
//   - `null` and `undefined`: empty subtrees with no leaves (JAX's None). They are kept apart
//     in the PyTreeDef so that unflattening gives back exactly what was flattened, which means
//     `null` and `undefined` are different structures;
//   - instances of classes registered with registerPytreeNode (exact class, as JAX matches
//     `type(x)`: subclasses must be registered on their own).
// NDArrays (and tracers, which are NDArrays) are leaves: an NDArray is iterable over its leading
// axis, and recursing into it would be wrong. So are numbers, strings, functions, typed arrays,
// Maps and instances of unregistered classes.
//
// Unflattening builds this realm's arrays and objects (a tree flattened from a cell's values
// comes back with the kernel's Array/Object prototypes; the values are the same), and objects
// come back with their keys in sorted order, as JAX's dicts do.

import { NDArray } from "./ndarray";
import { ArgumentError, ValueError } from "./errors";
import { checkOptions, describeValue, isPlainObject } from "./shape";

/** `isLeaf(x)`: a truthy result makes `x` a leaf even when it is a node (JAX's `is_leaf`). */
export type IsLeaf = (x: any) => unknown;

/** `{ isLeaf }`, JAX's `is_leaf=` keyword. */
export interface TreeOptions {
  isLeaf?: IsLeaf | null;
}

/** How a registered class is taken apart and put back together. */
interface Registration {
  readonly name: string;
  readonly nodeType: Function;
  readonly flatten: (node: any) => unknown;
  readonly unflatten: (auxData: any, children: unknown[]) => unknown;
}

// Keyed by the class's prototype, so that a lookup is one Map.get on Object.getPrototypeOf(x)
// and matches the exact class, as JAX does.
const registry = new Map<object, Registration>();

type Kind = "leaf" | "null" | "undefined" | "array" | "object" | "custom";

/**
 * The structure of a pytree without its leaves (JAX's PyTreeDef): what `treeFlatten` returns
 * beside the leaves and what `treeUnflatten` needs to rebuild the tree. Immutable. Compare two
 * with `equals` (not `===`: every flatten makes a new one).
 *
 * `toString()` is JAX's form in JS spelling: `PyTreeDef([*, {a: *, b: null}])`, where `*` is a
 * leaf, `null`/`undefined` are empty subtrees (JAX prints None), object keys are bare when they
 * are identifiers and JSON-quoted otherwise, and a registered class's node is
 * `CustomNode(Params[auxData], [*, *])`. Equal PyTreeDefs print the same text.
 */
export class PyTreeDef {
  /** Number of leaves (the length of the list `treeFlatten` returns). */
  readonly numLeaves: number;
  /** Number of nodes, leaves and empty subtrees included (JAX's `num_nodes`). */
  readonly numNodes: number;

  /** @internal Create PyTreeDefs with treeFlatten/treeStructure, never with `new`. */
  constructor(
    /** @internal */ readonly _kind: Kind,
    /** @internal */ readonly _children: readonly PyTreeDef[] = [],
    /** @internal Sorted object keys ("object"). */ readonly _keys: readonly string[] = [],
    /** @internal The registered class ("custom"). */ readonly _reg: Registration | null = null,
    /** @internal The flatten function's auxiliary data ("custom"). */ readonly _aux: unknown = undefined,
  ) {
    let leaves = _kind === "leaf" ? 1 : 0;
    let nodes = 1;
    for (const c of _children) {
      leaves += c.numLeaves;
      nodes += c.numNodes;
    }
    this.numLeaves = leaves;
    this.numNodes = nodes;
  }

  /** The PyTreeDefs of this node's direct children (empty for a leaf or an empty subtree). */
  children(): PyTreeDef[] {
    return [...this._children];
  }

  /** True for the PyTreeDef of a single leaf (JAX's `treedef_is_leaf`). */
  get isLeaf(): boolean {
    return this._kind === "leaf";
  }

  /** Same structure: same kinds of nodes, list lengths, object keys, classes and auxiliary data. */
  equals(other: unknown): boolean {
    if (this === other) return true;
    if (!(other instanceof PyTreeDef) || other._kind !== this._kind || other.numNodes !== this.numNodes) return false;
    if (this._children.length !== other._children.length) return false;
    if (this._kind === "object" && !this._keys.every((k, i) => k === other._keys[i])) return false;
    if (this._kind === "custom" && (this._reg !== other._reg || !auxEqual(this._aux, other._aux))) return false;
    return this._children.every((c, i) => c.equals(other._children[i]));
  }

  /** Rebuilds a tree of this structure from its leaves, in flatten order (see treeUnflatten). */
  unflatten(leaves: Iterable<unknown>, op = "tree.unflatten"): any {
    const list = toList(op, leaves, "leaves");
    if (list.length !== this.numLeaves)
      throw new ValueError(`${op}: ${list.length < this.numLeaves ? "too few" : "too many"} leaves for ${short(this)}, expected ${this.numLeaves}, got ${list.length}`);
    let pos = 0;
    const build = (d: PyTreeDef): unknown => {
      switch (d._kind) {
        case "leaf": return list[pos++];
        case "null": return null;
        case "undefined": return undefined;
        case "array": return d._children.map(build);
        case "object": return buildObject(d._keys, d._children.map(build));
        case "custom": return d._reg!.unflatten(d._aux, d._children.map(build));
      }
    };
    return build(this);
  }

  /**
   * The subtrees of `tree` that sit where this structure has its leaves (JAX's
   * `flatten_up_to`): `tree` must have this structure down to those leaves, and may go on
   * below them. `[*, *]` up to `[1, {a: 2}]` is `[1, {a: 2}]`. A mismatch throws a ValueError
   * `${op}: trees have different structures, got ... and ... (at [1].a: ...)`.
   */
  flattenUpTo(tree: unknown, op = "tree.flattenUpTo"): unknown[] {
    const out: unknown[] = [];
    const walk = (d: PyTreeDef, x: unknown, path: string): void => {
      if (d._kind === "leaf") {
        out.push(x);
        return;
      }
      const node = nodeOf(x);
      const fail = (what: string): never => {
        throw new ValueError(`${op}: trees have different structures, got ${short(this)} and ${short(structureOrNull(tree))} (at ${path || "the root"}: ${what})`);
      };
      if (node.kind !== d._kind) fail(`expected ${describeDef(d)}, got ${describeNode(node, x)}`);
      switch (d._kind) {
        case "null":
        case "undefined":
          return;
        case "array": {
          const xs = x as unknown[];
          if (xs.length !== d._children.length) fail(`expected a list of length ${d._children.length}, got a list of length ${xs.length}`);
          d._children.forEach((c, i) => walk(c, xs[i], `${path}[${i}]`));
          return;
        }
        case "object": {
          const keys = Object.keys(x as object).sort();
          if (keys.length !== d._keys.length || keys.some((k, i) => k !== d._keys[i]))
            fail(`expected an object with keys ${fmtKeys(d._keys)}, got keys ${fmtKeys(keys)}`);
          d._children.forEach((c, i) => walk(c, (x as Record<string, unknown>)[d._keys[i]], `${path}${keyPath(d._keys[i])}`));
          return;
        }
        case "custom": {
          if (node.reg !== d._reg) fail(`expected a ${d._reg!.name} node, got ${describeValue(x)}`);
          const [children, aux] = callFlatten(op, d._reg!, x);
          if (!auxEqual(aux, d._aux)) fail(`${d._reg!.name} nodes with different auxiliary data, ${auxRepr(d._aux)} and ${auxRepr(aux)}`);
          if (children.length !== d._children.length) fail(`expected a ${d._reg!.name} node with ${d._children.length} children, got ${children.length}`);
          d._children.forEach((c, i) => walk(c, children[i], `${path}[${i}]`));
          return;
        }
      }
    };
    walk(this, tree, "");
    return out;
  }

  /** This structure with every leaf replaced by `inner` (JAX's `compose`). */
  compose(inner: PyTreeDef): PyTreeDef {
    if (!(inner instanceof PyTreeDef)) throw new ArgumentError(`PyTreeDef.compose: expected a PyTreeDef, got ${describeValue(inner)}`);
    const sub = (d: PyTreeDef): PyTreeDef =>
      d._kind === "leaf" ? inner : d._children.length === 0 ? d : new PyTreeDef(d._kind, d._children.map(sub), d._keys, d._reg, d._aux);
    return sub(this);
  }

  toString(): string {
    return `PyTreeDef(${fmtDef(this)})`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

const LEAF = new PyTreeDef("leaf");
const NULL = new PyTreeDef("null");
const UNDEFINED = new PyTreeDef("undefined");

// ---- classifying values ----

type NodeInfo =
  | { kind: "leaf" | "null" | "undefined" | "array" | "object"; reg?: undefined }
  | { kind: "custom"; reg: Registration };

/** What `x` is to the tree functions (without isLeaf). Registered classes come first, so a registered Array subclass is a custom node. */
function nodeOf(x: unknown): NodeInfo {
  if (x === null) return IS_NULL;
  if (x === undefined) return IS_UNDEFINED;
  if (typeof x !== "object") return IS_LEAF;
  if (registry.size > 0) {
    const reg = registry.get(Object.getPrototypeOf(x));
    if (reg) return { kind: "custom", reg };
  }
  if (Array.isArray(x)) return IS_ARRAY;
  if (isPlainObject(x)) return IS_OBJECT;
  return IS_LEAF;
}
// Shared answers: flatten runs on every call of a transformed function, once per value.
const IS_LEAF: NodeInfo = { kind: "leaf" };
const IS_NULL: NodeInfo = { kind: "null" };
const IS_UNDEFINED: NodeInfo = { kind: "undefined" };
const IS_ARRAY: NodeInfo = { kind: "array" };
const IS_OBJECT: NodeInfo = { kind: "object" };

/** Calls a registered flatten function and checks that it kept its side of the contract. */
function callFlatten(op: string, reg: Registration, x: unknown): [unknown[], unknown] {
  const r = reg.flatten(x);
  if (!Array.isArray(r) || r.length !== 2 || r[0] === null || typeof (r[0] as Iterable<unknown>)?.[Symbol.iterator] !== "function")
    throw new ValueError(`${op}: the flatten function registered for ${reg.name} must return [children, auxData] with children a list, got ${describeValue(r)}`);
  return [Array.from(r[0] as Iterable<unknown>), r[1]];
}

function flattenInto(op: string, x: unknown, isLeaf: IsLeaf | undefined, leaves: unknown[], ancestors: Set<object>): PyTreeDef {
  if (isLeaf && isLeaf(x)) {
    leaves.push(x);
    return LEAF;
  }
  const node = nodeOf(x);
  switch (node.kind) {
    case "leaf":
      leaves.push(x);
      return LEAF;
    case "null": return NULL;
    case "undefined": return UNDEFINED;
  }
  // A cycle would recurse until the stack overflows; say what happened instead.
  const obj = x as object;
  if (ancestors.has(obj)) throw new ValueError(`${op}: the tree contains a cycle, got ${describeValue(x)}`);
  ancestors.add(obj);
  let def: PyTreeDef;
  if (node.kind === "array") {
    const xs = x as unknown[];
    const children = new Array<PyTreeDef>(xs.length);
    // An index loop, not map: holes in a sparse array are visited (as undefined) too.
    for (let i = 0; i < xs.length; i++) children[i] = flattenInto(op, xs[i], isLeaf, leaves, ancestors);
    def = new PyTreeDef("array", children);
  } else if (node.kind === "object") {
    const keys = Object.keys(obj).sort();
    const children = keys.map((k) => flattenInto(op, (obj as Record<string, unknown>)[k], isLeaf, leaves, ancestors));
    def = new PyTreeDef("object", children, keys);
  } else {
    const reg = node.reg!;
    const [kids, aux] = callFlatten(op, reg, x);
    def = new PyTreeDef("custom", kids.map((c) => flattenInto(op, c, isLeaf, leaves, ancestors)), [], reg, aux);
  }
  ancestors.delete(obj);
  return def;
}

// ---- argument helpers ----

/** `isLeaf` given positionally (a function) or as `{ isLeaf }`; null/undefined mean none. */
function leafOption(op: string, arg: unknown): IsLeaf | undefined {
  if (arg === undefined || arg === null) return undefined;
  if (typeof arg === "function") return arg as IsLeaf;
  if (!isPlainObject(arg)) throw new ArgumentError(`${op}: isLeaf must be a function or an options object { isLeaf }, got ${describeValue(arg)}`);
  const { isLeaf } = checkOptions<TreeOptions>(op, arg, { isLeaf: "any" });
  if (isLeaf === undefined || isLeaf === null) return undefined;
  if (typeof isLeaf !== "function") throw new ArgumentError(`${op}: option isLeaf must be a function, got ${describeValue(isLeaf)}`);
  return isLeaf;
}

/**
 * Whether the last argument of treeMap is its options rather than another tree: a plain object
 * whose only key is `isLeaf`, holding a function, null or undefined. Only the last argument is
 * looked at, so a tree that really is `{ isLeaf: someFunction }` can still be passed by giving
 * options after it: `treeMap(f, t, { isLeaf: fn }, { isLeaf: undefined })`.
 */
function isMapOptions(x: unknown): x is TreeOptions {
  if (!isPlainObject(x)) return false;
  const keys = Object.keys(x);
  return keys.length === 1 && keys[0] === "isLeaf" && (typeof x.isLeaf === "function" || x.isLeaf === undefined || x.isLeaf === null);
}

function checkFunction(op: string, name: string, f: unknown): void {
  if (typeof f !== "function") throw new ArgumentError(`${op}: ${name} must be a function, got ${describeValue(f)}`);
}

function checkTreeDef(op: string, d: unknown, name = "treedef"): asserts d is PyTreeDef {
  if (!(d instanceof PyTreeDef)) throw new ArgumentError(`${op}: ${name} must be a PyTreeDef (from tree.structure or tree.flatten), got ${describeValue(d)}`);
}

function toList(op: string, xs: unknown, name: string): unknown[] {
  if (Array.isArray(xs)) return xs;
  if (xs !== null && typeof xs === "object" && typeof (xs as Iterable<unknown>)[Symbol.iterator] === "function") return Array.from(xs as Iterable<unknown>);
  throw new ArgumentError(`${op}: ${name} must be a list, got ${describeValue(xs)}`);
}

// ---- the public functions ----

/**
 * Flattens a pytree into its leaves (depth first, object keys sorted, JAX's order) and its
 * structure: `treeFlatten([1, {b: 2, a: [3]}])` is `[[1, 3, 2], PyTreeDef([*, {a: [*], b: *}])]`.
 * `isLeaf` (a function, or `{ isLeaf }`) stops the descent at any subtree it returns true for.
 */
export function treeFlatten(tree: unknown, isLeaf?: IsLeaf | TreeOptions | null): [any[], PyTreeDef] {
  const leaves: unknown[] = [];
  const def = flattenInto("tree.flatten", tree, leafOption("tree.flatten", isLeaf), leaves, new Set());
  return [leaves, def];
}

/**
 * Rebuilds a tree from a structure and its leaves, in the order treeFlatten gives them. A wrong
 * number of leaves is a ValueError: `tree.unflatten: too few leaves for PyTreeDef([*, *]), expected 2, got 1`.
 */
export function treeUnflatten(treedef: PyTreeDef, leaves: Iterable<unknown>): any {
  checkTreeDef("tree.unflatten", treedef);
  return treedef.unflatten(leaves, "tree.unflatten");
}

/** The leaves of a pytree, in flatten order. */
export function treeLeaves<T = any>(tree: unknown, isLeaf?: IsLeaf | TreeOptions | null): T[] {
  const leaves: T[] = [];
  flattenInto("tree.leaves", tree, leafOption("tree.leaves", isLeaf), leaves, new Set());
  return leaves;
}

/** The structure of a pytree (its PyTreeDef). */
export function treeStructure(tree: unknown, isLeaf?: IsLeaf | TreeOptions | null): PyTreeDef {
  return flattenInto("tree.structure", tree, leafOption("tree.structure", isLeaf), [], new Set());
}

/**
 * Applies `f` to every leaf, giving a tree of the same structure: `treeMap((x) => x * 2, [1, {a: 2}])`
 * is `[2, {a: 4}]`. With more trees, `f` gets the corresponding leaf of each:
 * `treeMap((x, y) => x + y, t1, t2)`. As in JAX the other trees must have the first one's
 * structure, or have it as a prefix (where the first tree has a leaf they may have a whole
 * subtree, which `f` receives as is); anything else is a ValueError
 * `tree.map: trees have different structures, got ... and ... (at [1].a: ...)`.
 *
 * The last argument may be `{ isLeaf }` (an object whose only key is `isLeaf`), which applies to
 * the first tree. `null`/`undefined` are empty subtrees, so `f` never sees them unless
 * `isLeaf` says so.
 */
export function treeMap(f: (leaf: any, ...rest: any[]) => unknown, tree: unknown, ...rest: unknown[]): any {
  const op = "tree.map";
  checkFunction(op, "f", f);
  let isLeaf: IsLeaf | undefined;
  if (rest.length > 0 && isMapOptions(rest[rest.length - 1])) isLeaf = leafOption(op, rest.pop());
  const leaves: unknown[] = [];
  const def = flattenInto(op, tree, isLeaf, leaves, new Set());
  const others = rest.map((r) => def.flattenUpTo(r, op));
  const out = new Array<unknown>(leaves.length);
  for (let i = 0; i < leaves.length; i++) out[i] = f(leaves[i], ...others.map((o) => o[i]));
  return def.unflatten(out, op);
}

/**
 * Folds `f(accumulator, leaf)` over the leaves in flatten order (JAX's `tree_reduce`, which is
 * `functools.reduce`). Without an initializer the first leaf starts the fold, and a tree with
 * no leaves is a ValueError. `undefined` as the initializer means none was given (to pass only
 * options: `treeReduce(f, t, undefined, { isLeaf })`).
 */
export function treeReduce<A = any>(f: (acc: A, leaf: any) => A, tree: unknown, initializer?: A, options?: IsLeaf | TreeOptions | null): A {
  const op = "tree.reduce";
  checkFunction(op, "f", f);
  const leaves = treeLeavesFor(op, tree, options);
  let i = 0;
  let acc: A;
  if (initializer !== undefined) acc = initializer;
  else if (leaves.length > 0) acc = leaves[i++] as A;
  else throw new ValueError(`${op}: the tree has no leaves and no initializer was given, got ${short(treeStructure(tree))}`);
  for (; i < leaves.length; i++) acc = f(acc, leaves[i]);
  return acc;
}

/**
 * Whether every leaf is truthy (JAX's `tree_all`). An NDArray leaf counts by its value, as
 * Python's `bool(array)` does: it must have exactly one element (a traced one cannot be read).
 */
export function treeAll(tree: unknown, options?: IsLeaf | TreeOptions | null): boolean {
  const op = "tree.all";
  for (const leaf of treeLeavesFor(op, tree, options)) {
    if (leaf instanceof NDArray) {
      if (leaf.size !== 1)
        throw new ValueError(`${op}: the truth value of an array with more than one element is ambiguous (reduce it with np.all or np.any first), got array ${leaf.aval.str()}`);
      if (!leaf.item()) return false;
    } else if (!leaf) return false;
  }
  return true;
}

/**
 * Turns a tree of trees inside out (JAX's `tree_transpose`): with `outer` = `[*, *]` and
 * `inner` = `{a: *, b: *}`, `[{a: 1, b: 2}, {a: 3, b: 4}]` becomes `{a: [1, 3], b: [2, 4]}`.
 * `inner` may be left out, and is then the structure of the first outer subtree. The tree must
 * have the structure `outer.compose(inner)`, else ValueError.
 */
export function treeTranspose(outer: PyTreeDef, inner: PyTreeDef | null | undefined, tree: unknown): any {
  const op = "tree.transpose";
  checkTreeDef(op, outer, "outer");
  if (inner === null || inner === undefined) {
    const subs = outer.flattenUpTo(tree, op);
    if (subs.length === 0) throw new ValueError(`${op}: cannot infer the inner structure when the outer structure has no leaves, got ${short(outer)}`);
    inner = treeStructure(subs[0]);
  }
  checkTreeDef(op, inner, "inner");
  const [leaves, def] = treeFlatten(tree);
  const expected = outer.compose(inner);
  if (!def.equals(expected)) throw new ValueError(`${op}: the tree does not have the structure outer.compose(inner), expected ${short(expected)}, got ${short(def)}`);
  const n = inner.numLeaves;
  const columns: unknown[] = [];
  for (let j = 0; j < n; j++) columns.push(outer.unflatten(Array.from({ length: outer.numLeaves }, (_, i) => leaves[i * n + j]), op));
  return inner.unflatten(columns, op);
}

/**
 * Makes instances of `nodeType` pytree nodes (JAX's `register_pytree_node`):
 * `flatten(node)` returns `[children, auxData]` (children: a list of subtrees; auxData: anything
 * static that unflatten needs, compared structurally by PyTreeDef.equals), and
 * `unflatten(auxData, children)` builds a new instance. Only exact instances match (not
 * subclasses). Registering a class twice, or Array, Object or NDArray, is an error.
 *
 * ```ts
 * class Params { constructor(public w: NDArray, public b: NDArray) {} }
 * registerPytreeNode(Params, (p) => [[p.w, p.b], null], (_, [w, b]) => new Params(w, b));
 * ```
 */
export function registerPytreeNode<T extends object, A = unknown>(
  nodeType: abstract new (...args: any[]) => T,
  flatten: (node: T) => readonly [children: Iterable<unknown>, auxData: A],
  unflatten: (auxData: A, children: any[]) => T,
): void {
  const op = "registerPytreeNode";
  const proto = typeof nodeType === "function" ? (nodeType as { prototype?: unknown }).prototype : undefined;
  if (typeof proto !== "object" || proto === null) throw new ArgumentError(`${op}: nodeType must be a class, got ${describeValue(nodeType)}`);
  checkFunction(op, "flatten", flatten);
  checkFunction(op, "unflatten", unflatten);
  const name = nodeType.name || "(anonymous class)";
  // Array.prototype is itself an array and Object.prototype is the one object whose prototype
  // is null: this refuses the built-in node types of any realm.
  if (Array.isArray(proto) || Object.getPrototypeOf(proto) === null)
    throw new ValueError(`${op}: arrays and plain objects are already pytree nodes, got ${name}`);
  if (proto === NDArray.prototype || proto instanceof NDArray)
    throw new ValueError(`${op}: NDArrays (and tracers) are always leaves, got ${name}`);
  if (registry.has(proto)) throw new ValueError(`${op}: duplicate custom PyTreeDef type registration for ${name}`);
  registry.set(proto, { name, nodeType, flatten: flatten as (node: any) => unknown, unflatten: unflatten as Registration["unflatten"] });
}

/**
 * Registers a class that flattens itself (JAX's `register_pytree_node_class`): instances have
 * a `treeFlatten()` method returning `[children, auxData]`, and the class a static
 * `treeUnflatten(auxData, children)`. Returns the class, so it can wrap a class expression.
 */
export function registerPytreeNodeClass<C extends abstract new (...args: any[]) => { treeFlatten(): readonly [Iterable<unknown>, unknown] }>(
  nodeType: C & { treeUnflatten(auxData: any, children: any[]): InstanceType<C> },
): C {
  const op = "registerPytreeNodeClass";
  if (typeof nodeType !== "function") throw new ArgumentError(`${op}: expected a class, got ${describeValue(nodeType)}`);
  checkFunction(op, `${nodeType.name}.treeUnflatten`, nodeType.treeUnflatten);
  checkFunction(op, `${nodeType.name}.prototype.treeFlatten`, (nodeType.prototype as { treeFlatten?: unknown } | undefined)?.treeFlatten);
  registerPytreeNode(nodeType, (node) => node.treeFlatten(), (aux, children) => nodeType.treeUnflatten(aux, children));
  return nodeType;
}

function treeLeavesFor(op: string, tree: unknown, options: unknown): unknown[] {
  const leaves: unknown[] = [];
  flattenInto(op, tree, leafOption(op, options), leaves, new Set());
  return leaves;
}

// ---- equality and printing ----

/** Structural equality of auxiliary data: primitives by value, lists and plain objects item by item, objects with an `equals` method by it, anything else by identity. */
function auxEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => auxEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && auxEqual(a[k], b[k]));
  }
  if (!(a instanceof NDArray) && typeof (a as { equals?: unknown }).equals === "function") return !!(a as { equals(o: unknown): unknown }).equals(b);
  return false;
}

function auxRepr(a: unknown, depth = 0): string {
  if (depth < 3 && Array.isArray(a)) return `[${a.map((v) => auxRepr(v, depth + 1)).join(", ")}]`;
  if (depth < 3 && isPlainObject(a)) return `{${Object.keys(a).sort().map((k) => `${fmtKey(k)}: ${auxRepr(a[k], depth + 1)}`).join(", ")}}`;
  return describeValue(a, 2);
}

const fmtKey = (k: string): string => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
const keyPath = (k: string): string => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);
const fmtKeys = (keys: readonly string[]): string => `[${keys.map(fmtKey).join(", ")}]`;

function fmtDef(d: PyTreeDef): string {
  switch (d._kind) {
    case "leaf": return "*";
    case "null": return "null";
    case "undefined": return "undefined";
    case "array": return `[${d._children.map(fmtDef).join(", ")}]`;
    case "object": return `{${d._keys.map((k, i) => `${fmtKey(k)}: ${fmtDef(d._children[i])}`).join(", ")}}`;
    case "custom": return `CustomNode(${d._reg!.name}[${auxRepr(d._aux)}], [${d._children.map(fmtDef).join(", ")}])`;
  }
}

/** A PyTreeDef's text, cut short for error messages (a big model's parameters would fill the screen). */
function short(d: PyTreeDef | string): string {
  const s = String(d);
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
}

function structureOrNull(tree: unknown): PyTreeDef | string {
  try {
    return treeStructure(tree);
  } catch {
    return describeValue(tree);
  }
}

function describeDef(d: PyTreeDef): string {
  switch (d._kind) {
    case "array": return `a list of length ${d._children.length}`;
    case "object": return `an object with keys ${fmtKeys(d._keys)}`;
    case "custom": return `a ${d._reg!.name} node`;
    default: return d._kind;
  }
}

function describeNode(node: NodeInfo, x: unknown): string {
  switch (node.kind) {
    case "array": return `a list of length ${(x as unknown[]).length}`;
    case "object": return `an object with keys ${fmtKeys(Object.keys(x as object).sort())}`;
    case "custom": return `a ${node.reg.name} node`;
    case "null":
    case "undefined": return node.kind;
    default: return `a leaf ${describeValue(x)}`;
  }
}

function buildObject(keys: readonly string[], values: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    // A plain assignment of "__proto__" would set the prototype instead of a key.
    if (keys[i] === "__proto__") Object.defineProperty(out, keys[i], { value: values[i], enumerable: true, writable: true, configurable: true });
    else out[keys[i]] = values[i];
  }
  return out;
}
