// Pytrees (kernel/core/tree.ts, the public `tree` namespace): what is a node and what is a
// leaf, JAX's leaf order (object keys sorted), PyTreeDef equality and printing, flatten ->
// unflatten round trips, tree.map over several trees (same structure or a prefix), custom
// registered classes, values from a cell's vm realm, and the errors for bad input.

import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { NDArray, PrimalError, np, tree } from "../../kernel/index";
import { ArgumentError, ValueError } from "../../kernel/core/errors";
import { PyTreeDef, treeFlatten, treeMap } from "../../kernel/core/tree";
import { traced } from "./helpers/abstract-trace";
import { ShapedArray } from "../../kernel/core/aval";
import { DTYPES } from "../../kernel/core/dtype";

const str = (t: unknown) => String(tree.structure(t));
// Not toEqual: vitest compares iterables by iterating them, and an NDArray iterates over its
// leading axis down to 0-d arrays, which cannot be iterated.
const expectSame = (got: unknown[], want: unknown[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBe(want[i]));
};

describe("flatten", () => {
  it("visits arrays in order and object keys sorted (JAX's dict order)", () => {
    const [leaves, def] = tree.flatten([1, { b: 2, a: [3, 4] }, "s"]);
    expect(leaves).toEqual([1, 3, 4, 2, "s"]);
    expect(String(def)).toBe("PyTreeDef([*, {a: [*, *], b: *}, *])");
    expect(def.numLeaves).toBe(5);
    // list, 1, object, [3, 4], 3, 4, 2, "s": leaves count as nodes, as in JAX
    expect(def.numNodes).toBe(8);
    expect(tree.structure({ b: 1, a: 2 }).equals(tree.structure({ a: 1, b: 2 }))).toBe(true);
  });
  it("null and undefined are empty subtrees with no leaves, kept apart", () => {
    const [leaves, def] = tree.flatten({ a: null, b: [undefined, 1, [null]], c: [] });
    expect(leaves).toEqual([1]);
    expect(String(def)).toBe("PyTreeDef({a: null, b: [undefined, *, [null]], c: []})");
    expect(def.numNodes).toBe(8);
    expect(tree.leaves(null)).toEqual([]);
    expect(str(null)).toBe("PyTreeDef(null)");
    expect(tree.structure(null).equals(tree.structure(undefined))).toBe(false);
    expect(tree.unflatten(def, [7])).toEqual({ a: null, b: [undefined, 7, [null]], c: [] });
  });
  it("NDArrays are leaves (never iterated over their leading axis), as are other non-plain values", () => {
    const x = np.arange(6).reshape([2, 3]);
    const fn = () => 1;
    const m = new Map([[1, 2]]);
    const ta = new Float32Array(2);
    class Opaque { v = [1, 2]; }
    const o = new Opaque();
    const [leaves, def] = tree.flatten({ x, fn, m, ta, o, s: "abc", n: 0, b: false, big: 2n });
    expectSame(leaves, [false, 2n, fn, m, 0, o, "abc", ta, x]);
    expect(def.numLeaves).toBe(9);
    expect(str(x)).toBe("PyTreeDef(*)");
    expect(tree.structure(x).isLeaf).toBe(true);
  });
  it("tracers are leaves too", () => {
    traced((mk) => {
      const t = mk(new ShapedArray([3], DTYPES.float32));
      expectSame(tree.leaves({ t, u: [t] }), [t, t]);
      expect(tree.map((a: NDArray) => a.shape, [t])).toEqual([[3]]);
      // reading a traced value is the tracer's concretization error (as bool(tracer) in JAX)
      expect(() => tree.all([mk(new ShapedArray([], DTYPES.bool))])).toThrow(/Abstract tracer value encountered/);
    });
  });
  it("isLeaf stops the descent, as a function or { isLeaf }, and sees null", () => {
    const t = { a: [1, 2], b: { c: [3] } };
    const isPair = (x: unknown) => Array.isArray(x) && x.length === 2;
    expect(tree.leaves(t, isPair)).toEqual([[1, 2], 3]);
    expect(tree.leaves(t, { isLeaf: isPair })).toEqual([[1, 2], 3]);
    expect(String(tree.flatten(t, isPair)[1])).toBe("PyTreeDef({a: *, b: {c: [*]}})");
    expect(tree.leaves([null, 1], (x: unknown) => x === null)).toEqual([null, 1]);
    expect(tree.leaves(t, { isLeaf: undefined })).toEqual([1, 2, 3]);
  });
  it("holes in sparse arrays are undefined subtrees; null-prototype objects are nodes", () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(str([1, , 3])).toBe("PyTreeDef([*, undefined, *])");
    const o = Object.create(null) as Record<string, number>;
    o.z = 1;
    o.y = 2;
    expect(tree.flatten(o)[0]).toEqual([2, 1]);
  });
  it("keys that are not identifiers are quoted in the text; __proto__ survives a round trip", () => {
    const t = JSON.parse('{"a b": 1, "__proto__": 2, "0": 3}');
    const [leaves, def] = tree.flatten(t);
    expect(String(def)).toBe('PyTreeDef({"0": *, __proto__: *, "a b": *})');
    const back = tree.unflatten(def, leaves);
    expect(Object.keys(back)).toEqual(["0", "__proto__", "a b"]);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype); // the key did not set the prototype
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toBe(2);
  });
  it("a shared subtree is fine; a cycle is an error, not a stack overflow", () => {
    const shared = [1];
    expect(tree.leaves([shared, shared])).toEqual([1, 1]);
    const c: unknown[] = [1];
    c.push({ back: c });
    expect(() => tree.flatten(c)).toThrow(/tree\.flatten: the tree contains a cycle/);
    expect(() => tree.leaves(c)).toThrow(ValueError);
  });
});

describe("unflatten", () => {
  it("round trips flatten -> unflatten (objects come back with sorted keys)", () => {
    const x = np.ones([2]);
    const cases: unknown[] = [1, [], {}, null, [1, [2, [3, []]]], { b: [x, { d: null, c: 4 }], a: "s" }, [[{}], [null, undefined]]];
    for (const t of cases) {
      const [leaves, def] = tree.flatten(t);
      const back = tree.unflatten(def, leaves);
      if (t !== cases[5]) expect(back).toEqual(t);
      expect(tree.structure(back).equals(def)).toBe(true);
      expectSame(tree.leaves(back), leaves);
    }
    const back = tree.unflatten(tree.structure({ b: 1, a: 2 }), [10, 20]);
    expect(Object.keys(back)).toEqual(["a", "b"]);
    expect(back).toEqual({ a: 10, b: 20 });
  });
  it("puts any values at the leaves (including subtrees), and takes any iterable of leaves", () => {
    const def = tree.structure([0, { a: 0 }]);
    expect(tree.unflatten(def, [[1, 2], { z: 3 }])).toEqual([[1, 2], { a: { z: 3 } }]);
    expect(tree.unflatten(def, new Set([5, 6]))).toEqual([5, { a: 6 }]);
    expect(def.unflatten(["p", "q"])).toEqual(["p", { a: "q" }]);
  });
  it("the wrong number of leaves is a ValueError naming the structure and both counts", () => {
    const def = tree.structure([1, { a: 2 }]);
    expect(() => tree.unflatten(def, [1])).toThrow("tree.unflatten: too few leaves for PyTreeDef([*, {a: *}]), expected 2, got 1");
    expect(() => tree.unflatten(def, [1, 2, 3])).toThrow("tree.unflatten: too many leaves for PyTreeDef([*, {a: *}]), expected 2, got 3");
    expect(() => tree.unflatten(def, [1])).toThrow(ValueError);
    expect(() => tree.unflatten({} as PyTreeDef, [1])).toThrow(/tree\.unflatten: treedef must be a PyTreeDef .* got object \{\}/);
    expect(() => tree.unflatten(def, 5 as unknown as number[])).toThrow(/tree\.unflatten: leaves must be a list, got 5/);
  });
});

describe("PyTreeDef", () => {
  it("equality is structural: node kinds, lengths, keys", () => {
    const s = (t: unknown) => tree.structure(t);
    expect(s([1, { a: 2 }]).equals(s(["x", { a: np.ones([3]) }]))).toBe(true);
    expect(s([1, 2]).equals(s([1, 2, 3]))).toBe(false);
    expect(s([1, 2]).equals(s({ 0: 1, 1: 2 }))).toBe(false);
    expect(s({ a: 1 }).equals(s({ b: 1 }))).toBe(false);
    expect(s([1]).equals(s([[1]]))).toBe(false);
    expect(s([null]).equals(s([1]))).toBe(false);
    expect(s(1).equals("PyTreeDef(*)")).toBe(false);
    expect(s([]).equals(s({}))).toBe(false);
  });
  it("children, compose, and the node count of an empty tree", () => {
    const d = tree.structure([1, { a: 2, b: null }]);
    expect(d.children().map(String)).toEqual(["PyTreeDef(*)", "PyTreeDef({a: *, b: null})"]);
    expect(tree.structure(1).children()).toEqual([]);
    const c = tree.structure([0, 0]).compose(tree.structure({ x: 0, y: [0] }));
    expect(String(c)).toBe("PyTreeDef([{x: *, y: [*]}, {x: *, y: [*]}])");
    expect(c.numLeaves).toBe(4);
    expect(tree.structure(null).numNodes).toBe(1);
    expect(tree.structure([]).numLeaves).toBe(0);
  });
  it("prints with console.log / util.inspect as its text", async () => {
    const { inspect } = await import("node:util");
    expect(inspect(tree.structure({ a: [1] }))).toBe("PyTreeDef({a: [*]})");
  });
});

describe("map", () => {
  it("maps one tree, keeping structure (null stays, f never sees it)", () => {
    const seen: unknown[] = [];
    const out = tree.map((x: number) => (seen.push(x), x * 10), { b: [1, null], a: 2, c: undefined });
    expect(out).toEqual({ a: 20, b: [10, null], c: undefined });
    expect(seen).toEqual([2, 1]);
  });
  it("maps several trees leaf by leaf", () => {
    expect(tree.map((x: number, y: number, z: number) => x + y + z, [1, { a: 2 }], [10, { a: 20 }], [100, { a: 200 }])).toEqual([111, { a: 222 }]);
    const a = { w: np.array([1, 2]), b: np.array(3) };
    const g = { w: np.array([0.5, 0.5]), b: np.array(1) };
    const upd = tree.map((p: NDArray, d: NDArray) => p.sub(d.mul(2)), a, g);
    expect(upd.w.tolist()).toEqual([0, 1]);
    expect(upd.b.item()).toBe(1);
  });
  it("the other trees may have the first as a prefix: f gets their whole subtree", () => {
    expect(tree.map((x: number, y: unknown) => [x, y], [1, 2], [[3, 4], { a: null }])).toEqual([[1, [3, 4]], [2, { a: null }]]);
    expect(tree.map((x: number, y: unknown) => y, [1], [null])).toEqual([null]);
  });
  it("a trailing { isLeaf } is the options; only the last argument is read that way", () => {
    const isPair = (x: unknown) => Array.isArray(x) && x.length === 2;
    expect(tree.map((p: number[]) => p[0] + p[1], { a: [1, 2], b: [[3, 4]] }, { isLeaf: isPair })).toEqual({ a: 3, b: [7] });
    // a tree that looks like options, followed by real options
    const f = () => 0;
    expect(tree.map((x: unknown, y: unknown) => y, { isLeaf: 1 }, { isLeaf: f }, { isLeaf: undefined })).toEqual({ isLeaf: f });
    // a tree with other keys is a tree, not options
    expect(tree.map((x: number, y: number) => x + y, { isLeaf: 1, z: 2 }, { isLeaf: 3, z: 4 })).toEqual({ isLeaf: 4, z: 6 });
  });
  it("different structures are a ValueError naming both structures and where they differ", () => {
    const add = (x: number, y: number) => x + y;
    expect(() => tree.map(add, [1, 2], [1, 2, 3])).toThrow(
      "tree.map: trees have different structures, got PyTreeDef([*, *]) and PyTreeDef([*, *, *]) (at the root: expected a list of length 2, got a list of length 3)",
    );
    expect(() => tree.map(add, [1, { a: 1 }], [1, { b: 1 }])).toThrow(
      "tree.map: trees have different structures, got PyTreeDef([*, {a: *}]) and PyTreeDef([*, {b: *}]) (at [1]: expected an object with keys [a], got keys [b])",
    );
    expect(() => tree.map(add, { x: { "a b": [1] } }, { x: { "a b": 5 } })).toThrow(/at \.x\["a b"\]: expected a list of length 1, got a leaf 5/);
    expect(() => tree.map(add, [null], [1])).toThrow(/at \[0\]: expected null, got a leaf 1/);
    expect(() => tree.map(add, [null], [undefined])).toThrow(/at \[0\]: expected null, got undefined/);
    expect(() => tree.map(add, [1], { 0: 1 })).toThrow(/at the root: expected a list of length 1, got an object with keys \["0"\]/);
    expect(() => tree.map(add, [1], [1])).not.toThrow();
  });
  it("bad arguments are ArgumentErrors", () => {
    expect(() => tree.map(5 as unknown as () => 0, [1])).toThrow(/tree\.map: f must be a function, got 5/);
    expect(() => tree.map((x: number) => x, [1], { isLeaf: 3 } as never)).toThrow(ValueError); // { isLeaf: 3 } is a tree here
    expect(() => tree.leaves([1], 3 as never)).toThrow(/tree\.leaves: isLeaf must be a function or an options object \{ isLeaf \}, got 3/);
    expect(() => tree.leaves([1], { isLeaf: 3 } as never)).toThrow(/tree\.leaves: option isLeaf must be a function, got 3/);
    expect(() => tree.leaves([1], { isleaf: () => 1 } as never)).toThrow(/tree\.leaves: unknown option, got "isleaf"/);
    expect(() => tree.leaves([1], { isleaf: () => 1 } as never)).toThrow(ArgumentError);
  });
});

describe("reduce, all, transpose", () => {
  it("reduce folds over the leaves in order, with or without an initializer", () => {
    expect(tree.reduce((a: string, x: string) => a + x, { b: "2", a: ["1"], c: "3" })).toBe("123");
    expect(tree.reduce((a: number, x: number) => a + x, [1, [2, 3]], 10)).toBe(16);
    expect(tree.reduce((a: number, x: number) => a + x, [], 0)).toBe(0);
    // the whole list is the one leaf
    expect(tree.reduce((a: number, x: number[]) => a + x.length, [[1, 2], [3, 4, 5]], 0, { isLeaf: Array.isArray })).toBe(2);
    expect(tree.reduce((a: number, x: number[]) => a + x.length, { p: [1, 2], q: [3] }, 0, (x: unknown) => Array.isArray(x))).toBe(3);
    expect(() => tree.reduce((a: number) => a, [null, {}])).toThrow("tree.reduce: the tree has no leaves and no initializer was given, got PyTreeDef([null, {}])");
    const total = tree.reduce((a: NDArray, x: NDArray) => a.add(x.sum()), { w: np.ones([2, 2]), b: np.ones([2]) }, np.array(0));
    expect(total.item()).toBe(6);
  });
  it("all: every leaf truthy; size-1 arrays by value, bigger arrays are an error", () => {
    expect(tree.all([1, { a: true, b: "x" }])).toBe(true);
    expect(tree.all([1, { a: 0 }])).toBe(false);
    expect(tree.all([null, {}])).toBe(true);
    expect(tree.all([np.array(true), np.array([1])])).toBe(true);
    expect(tree.all({ ok: np.array(false) })).toBe(false);
    expect(tree.all([[], [0]], { isLeaf: (x: unknown) => Array.isArray(x) && x.length === 0 })).toBe(false);
    expect(() => tree.all([np.ones([3])])).toThrow(/tree\.all: the truth value of an array with more than one element is ambiguous .* got array f32\[3\]/);
  });
  it("transpose turns a list of objects into an object of lists", () => {
    const outer = tree.structure([0, 0, 0]);
    const inner = tree.structure({ a: 0, b: 0 });
    const t = [{ a: 1, b: 2 }, { a: 3, b: 4 }, { a: 5, b: 6 }];
    expect(tree.transpose(outer, inner, t)).toEqual({ a: [1, 3, 5], b: [2, 4, 6] });
    expect(tree.transpose(outer, null, t)).toEqual({ a: [1, 3, 5], b: [2, 4, 6] });
    expect(tree.transpose(inner, outer, { a: [1, 3, 5], b: [2, 4, 6] })).toEqual(t);
    expect(() => tree.transpose(outer, inner, [{ a: 1, b: 2 }])).toThrow(/tree\.transpose: the tree does not have the structure outer\.compose\(inner\), expected PyTreeDef\(\[\{a: \*, b: \*\}, /);
  });
});

describe("custom nodes", () => {
  class Params {
    constructor(readonly w: unknown, readonly b: unknown, readonly name = "p") {}
  }
  tree.registerPytreeNode(
    Params,
    (p) => [[p.w, p.b], p.name],
    (name, [w, b]) => new Params(w, b, name),
  );

  it("flatten through the registered functions; auxData is part of the structure", () => {
    const p = new Params(np.ones([2]), [1, 2]);
    const [leaves, def] = tree.flatten({ params: p, step: 3 });
    expect(leaves.length).toBe(4);
    expect(leaves[0]).toBe(p.w);
    expect(String(def)).toBe('PyTreeDef({params: CustomNode(Params["p"], [*, [*, *]]), step: *})');
    const back = tree.unflatten(def, leaves);
    expect(back.params).toBeInstanceOf(Params);
    expect(back.params.b).toEqual([1, 2]);
    expect(back.params.name).toBe("p");
    expect(tree.structure(new Params(0, [0, 0])).equals(def.children()[0])).toBe(true);
    expect(tree.structure(new Params(0, [0, 0], "q")).equals(def.children()[0])).toBe(false);
  });
  it("map rebuilds the class; mismatched classes or auxData are errors", () => {
    const out = tree.map((x: number) => x + 1, new Params(1, { c: 2 }));
    expect(out).toBeInstanceOf(Params);
    expect(out.w).toBe(2);
    expect(out.b).toEqual({ c: 3 });
    const add = (x: number, y: number) => x + y;
    expect(tree.map(add, new Params(1, 2), new Params(10, 20)).b).toBe(22);
    expect(() => tree.map(add, new Params(1, 2), [1, 2])).toThrow(/tree\.map: trees have different structures, got PyTreeDef\(CustomNode\(Params\["p"\], \[\*, \*\]\)\) and PyTreeDef\(\[\*, \*\]\) \(at the root: expected a Params node, got a list of length 2\)/);
    expect(() => tree.map(add, new Params(1, 2), new Params(1, 2, "q"))).toThrow(/Params nodes with different auxiliary data, "p" and "q"/);
  });
  it("subclasses are not registered nodes (exact class, as JAX); auxData compares structurally", () => {
    class Sub extends Params {}
    expect(tree.leaves(new Sub(1, 2))).toEqual([new Sub(1, 2)]);
    class Shaped {
      constructor(readonly v: unknown, readonly meta: { shape: number[] }) {}
    }
    tree.registerPytreeNode(Shaped, (s) => [[s.v], s.meta], (meta, [v]) => new Shaped(v, meta));
    const a = tree.structure(new Shaped(1, { shape: [2, 3] }));
    expect(a.equals(tree.structure(new Shaped(5, { shape: [2, 3] })))).toBe(true);
    expect(a.equals(tree.structure(new Shaped(5, { shape: [3, 2] })))).toBe(false);
    expect(String(a)).toBe("PyTreeDef(CustomNode(Shaped[{shape: [2, 3]}], [*]))");
  });
  it("registerPytreeNodeClass uses the class's treeFlatten / static treeUnflatten", () => {
    const P2 = tree.registerPytreeNodeClass(
      class Pair {
        constructor(readonly l: unknown, readonly r: unknown) {}
        treeFlatten() {
          return [[this.l, this.r], null] as const;
        }
        static treeUnflatten(_aux: unknown, [l, r]: unknown[]) {
          return new Pair(l, r);
        }
      },
    );
    const out = tree.map((x: number) => -x, new P2(1, new P2(2, 3)));
    expect(out).toEqual(new P2(-1, new P2(-2, -3)));
    expect(str(new P2(1, 2))).toBe("PyTreeDef(CustomNode(Pair[null], [*, *]))");
  });
  it("registration errors: duplicates, built-in nodes, NDArray, non-classes, bad flatten results", () => {
    const flat = () => [[], null] as const;
    const unflat = () => new Params(0, 0);
    expect(() => tree.registerPytreeNode(Params, flat, unflat)).toThrow("registerPytreeNode: duplicate custom PyTreeDef type registration for Params");
    expect(() => tree.registerPytreeNode(Array, flat as never, unflat as never)).toThrow(/arrays and plain objects are already pytree nodes, got Array/);
    expect(() => tree.registerPytreeNode(Object, flat as never, unflat as never)).toThrow(/already pytree nodes, got Object/);
    expect(() => tree.registerPytreeNode(vm.runInNewContext("Array"), flat as never, unflat as never)).toThrow(/already pytree nodes/);
    expect(() => tree.registerPytreeNode(NDArray, flat as never, unflat as never)).toThrow(/registerPytreeNode: NDArrays \(and tracers\) are always leaves/);
    expect(() => tree.registerPytreeNode(5 as never, flat, unflat)).toThrow(/registerPytreeNode: nodeType must be a class, got 5/);
    class Q {}
    expect(() => tree.registerPytreeNode(Q, 1 as never, unflat as never)).toThrow(/registerPytreeNode: flatten must be a function, got 1/);
    class Bad {}
    tree.registerPytreeNode(Bad, () => 7 as never, () => new Bad());
    expect(() => tree.leaves([new Bad()])).toThrow(/tree\.leaves: the flatten function registered for Bad must return \[children, auxData\] with children a list, got 7/);
    expect(() => tree.leaves([new Bad()])).toThrow(PrimalError);
  });
});

describe("values from another realm (a cell's vm context)", () => {
  it("arrays and plain objects made in a vm context are nodes; they come back as this realm's", () => {
    const t = vm.runInNewContext("[1, {b: 2, a: [3]}, null, Object.create(null)]");
    expect(t instanceof Array).toBe(false); // really from the other realm
    const [leaves, def] = tree.flatten(t);
    expect(leaves).toEqual([1, 3, 2]);
    expect(String(def)).toBe("PyTreeDef([*, {a: [*], b: *}, null, {}])");
    expect(def.equals(tree.structure([0, { a: [0], b: 0 }, null, {}]))).toBe(true);
    const back = tree.unflatten(def, leaves);
    expect(back instanceof Array).toBe(true);
    expect(back).toEqual([1, { a: [3], b: 2 }, null, {}]);
    expect(tree.map((x: number, y: number) => x * y, t, [1, { a: [3], b: 2 }, null, {}])).toEqual([1, { a: [9], b: 4 }, null, {}]);
  });
  it("instances of classes from the other realm (Map, Date, user classes) are leaves", () => {
    const [m, d, c] = vm.runInNewContext("class C {}; [new Map(), new Date(0), new C()]");
    expect(tree.leaves({ m, d, c })).toEqual([c, d, m]);
  });
  it("a class registered from a vm context is matched there", () => {
    const ctx = vm.createContext({ register: tree.registerPytreeNode, leaves: tree.leaves, map: tree.map });
    const out = vm.runInContext(
      `class P { constructor(a, b) { this.a = a; this.b = b; } }
       register(P, (p) => [[p.a, p.b], null], (_, [a, b]) => new P(a, b));
       const m = map((x) => x * 2, [new P(1, 2), {z: 3}]);
       [leaves([new P(1, {y: 2, x: 3})]), m[0] instanceof P, m[0].b, m[1].z]`,
      ctx,
    );
    expect(Array.from(out[0])).toEqual([1, 3, 2]);
    expect(out.slice(1)).toEqual([true, 4, 6]);
  });
});

describe("core entry points", () => {
  it("core and the public namespace are the same functions", () => {
    expect(tree.map).toBe(treeMap);
    expect(tree.flatten).toBe(treeFlatten);
    expect(tree.PyTreeDef).toBe(PyTreeDef);
  });
  it("flattenUpTo reports with the caller's operation name", () => {
    const def = tree.structure([0, 0]);
    expect(def.flattenUpTo([[1, 2], 3])).toEqual([[1, 2], 3]);
    expect(() => def.flattenUpTo([1], "vmap")).toThrow(/^vmap: trees have different structures, got PyTreeDef\(\[\*, \*\]\) and PyTreeDef\(\[\*\]\)/);
  });
});
