// The public `tree` namespace: JAX's newer `jax.tree` names (`tree.map`, `tree.leaves`, ...)
// plus the registration functions JAX keeps in `jax.tree_util`, since Primal has no separate
// tree_util. The implementation is kernel/core/tree.ts, which the transformations use directly.
//
//   tree.flatten(t, isLeaf?)          -> [leaves, treedef]      jax.tree.flatten
//   tree.unflatten(treedef, leaves)   -> t                      jax.tree.unflatten
//   tree.map(f, t, ...rest, {isLeaf}) -> t'                     jax.tree.map
//   tree.leaves(t, isLeaf?)           -> leaves                 jax.tree.leaves
//   tree.structure(t, isLeaf?)        -> treedef                jax.tree.structure
//   tree.reduce(f, t, init?, isLeaf?) -> value                  jax.tree.reduce
//   tree.all(t, isLeaf?)              -> boolean                jax.tree.all
//   tree.transpose(outer, inner, t)   -> t'                     jax.tree.transpose
//   tree.registerPytreeNode(C, flatten, unflatten)              jax.tree_util.register_pytree_node
//   tree.registerPytreeNodeClass(C)                             jax.tree_util.register_pytree_node_class
//   tree.PyTreeDef                                              jax.tree_util.PyTreeDef
//
// `isLeaf` may be given as a function or as `{ isLeaf }`, as JAX's is_leaf is positional or
// keyword.

export {
  treeFlatten as flatten,
  treeUnflatten as unflatten,
  treeMap as map,
  treeLeaves as leaves,
  treeStructure as structure,
  treeReduce as reduce,
  treeAll as all,
  treeTranspose as transpose,
  registerPytreeNode,
  registerPytreeNodeClass,
  PyTreeDef,
} from "../core/tree";
export type { IsLeaf, TreeOptions } from "../core/tree";
