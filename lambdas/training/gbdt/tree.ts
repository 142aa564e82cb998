/**
 * One regression tree in flat arrays (node 0 is the root). A node with feature -1 is a
 * leaf; otherwise rows with x[feature] <= threshold go left.
 */
export interface Tree {
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Leaf values (learning rate applied). */
  readonly value: Float64Array;
}

/** The leaf value a row falls into; `x` holds the row's expanded columns. */
export function treeValue(tree: Tree, columns: readonly Float64Array[], row: number): number {
  let node = 0;
  for (;;) {
    const f = tree.feature[node]!;
    if (f < 0) return tree.value[node]!;
    node = columns[f]![row]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
  }
}
