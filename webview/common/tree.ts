// Trees in the panels are our own (the webview toolkit has no tree component): an expandable
// tree is flattened into the rows that are visible now, and those rows go to a VirtualList with
// role="tree"/"treeitem". Flattening is O(visible rows), so a collapsed 5,000-node subtree costs
// nothing until it is opened.

/** One visible row of a flattened tree. */
export interface TreeRow<N> {
  node: N;
  /** 0 for roots. */
  depth: number;
  /** Whether the node has children (an expander is drawn). */
  expandable: boolean;
}

/**
 * The rows of a tree in display order (pre-order), descending only into expanded nodes.
 * `children` returns null (or an empty list) for a leaf. Iterative, so deep trees do not
 * overflow the stack.
 */
export function flattenTree<N>(roots: N[], children: (n: N) => N[] | null, isExpanded: (n: N) => boolean): TreeRow<N>[] {
  const out: TreeRow<N>[] = [];
  const stack: { node: N; depth: number }[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ node: roots[i], depth: 0 });
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    const kids = children(node);
    const expandable = !!kids && kids.length > 0;
    out.push({ node, depth, expandable });
    if (expandable && isExpanded(node)) for (let i = kids!.length - 1; i >= 0; i--) stack.push({ node: kids![i], depth: depth + 1 });
  }
  return out;
}

/**
 * ARIA attributes of a tree row (for `h(..., { attrs })`). `pos` is the row's place among its
 * siblings, when the caller knows it (a virtualised tree cannot rely on the DOM for it).
 */
export function treeItemAttrs(
  row: { depth: number; expandable: boolean },
  expanded: boolean,
  pos?: { index: number; count: number },
): Record<string, string | number | null> {
  return {
    role: "treeitem",
    "aria-level": row.depth + 1,
    "aria-expanded": row.expandable ? String(expanded) : null,
    "aria-posinset": pos ? pos.index + 1 : null,
    "aria-setsize": pos ? pos.count : null,
  };
}
