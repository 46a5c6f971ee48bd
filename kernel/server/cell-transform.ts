// Turns one cell's TypeScript into the body of an async function that runs in the kernel's
// persistent REPL scope (see cell-runner.ts).
//
// Pipeline: esbuild strips the types (format "esm" so `import` statements and top-level
// `await` survive untouched), acorn parses the JavaScript, and magic-string rewrites the
// top level so that every binding the cell declares lands on the runner's `vm` context global
// instead of in the function's local scope:
//
//   import { np, grad as g } from "primal"  →  ({ np: np, grad: g } = await __primal_import("primal"));
//   import * as path from "node:path"       →  path = await __primal_import("node:path");
//   const { a, b: [c] } = f(), d = 1;       →  ({ a, b: [c] } = f()), (d = 1);
//   let e;                                  →  (e = undefined);
//   function h() {}                         →  h = function h() {};      (moved to the top)
//   class K {}                              →  K = class K {};
//   last expression statement `x.sum()`     →  return (x.sum());
//
// Because declarations become plain assignments, running a cell again that declares
// `const x` simply rebinds `x` (notebook semantics), and a binding from cell 1 is visible in
// cell 3. The price: `const` is not enforced across cells and there is no temporal dead zone
// for top-level bindings. The runner pre-creates every declared name on the global so the
// assignments also work in strict-mode code.
//
// Two source maps come out, and both are needed to put an error on the user's line: the
// magic-string map (function body → esbuild's JS) and esbuild's map (JS → the cell's TS).

import * as esbuild from "esbuild";
import * as acorn from "acorn";
import MagicString from "magic-string";
import type { DecodedSourceMap, EncodedSourceMap, SourceMapSegment } from "@jridgewell/trace-mapping";
import { TraceMap, decodedMappings } from "@jridgewell/trace-mapping";
import { PrimalError } from "../core/errors";

/** Name of the runtime import function the rewritten code calls (defined by the runner). */
export const IMPORT_FN = "__primal_import";
/** Name of the global that stands in for `import.meta` inside cells (defined by the runner). */
export const IMPORT_META = "__primal_import_meta";

/** The result of transforming one cell. */
export interface TransformedCell {
  /** JavaScript to place inside `(async () => {\n` … `\n})()`. */
  body: string;
  /** Source map from `body` (line 1 = first line of the body) to `js`, in decoded form. */
  bodyMap: DecodedSourceMap;
  /** esbuild's JavaScript, before the scope rewrite. */
  js: string;
  /** Source map from `js` to the cell's TypeScript source (line 1 = first line of the cell). */
  jsMap: EncodedSourceMap;
  /** Top-level names the cell binds (variables, functions, classes, imports), without duplicates. */
  declaredNames: string[];
  /** True if the body ends in `return (expr)`, i.e. the cell has a value to show. */
  hasValue: boolean;
}

/** Options of {@link transformCell}. */
export interface TransformOptions {
  /** Name esbuild uses for the source in messages and in `jsMap.sources`. */
  sourcefile: string;
}

/**
 * A syntax error in a cell, with its position inside the cell's source (1-based line,
 * 1-based column). The runner adds the cell's start line to get the file line.
 */
export class CellSyntaxError extends PrimalError {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    // Users know this as a SyntaxError; the class stays distinguishable with instanceof.
    this.name = "SyntaxError";
  }
}

// acorn's node types are a wide union; this loose shape is what the rewriter walks.
interface AnyNode {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

/**
 * Transforms a cell's TypeScript into a function body for the REPL scope.
 *
 * Last-value rule (the value the cell shows): the last top-level statement — ignoring
 * function declarations, imports and exports-only statements, which have no completion
 * value in JS either — is returned if it is an expression statement, **unless** it is an
 * assignment (`x = 1`, `x += 1`, `o.y = 2`), which shows nothing, as in IPython. A trailing
 * `;` changes nothing (TypeScript code ends every statement with one).
 *
 * @throws CellSyntaxError if esbuild (or, defensively, acorn) rejects the code.
 */
export function transformCell(source: string, opts: TransformOptions): TransformedCell {
  let out: esbuild.TransformResult;
  try {
    out = esbuild.transformSync(source, {
      loader: "ts",
      format: "esm",
      sourcemap: "external",
      target: "es2022",
      sourcefile: opts.sourcefile,
      // Without this esbuild drops imports that the cell does not use itself, because in a
      // single TS file they could be types; in a notebook the next cell uses them.
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
      // Function names show up in jaxprs (jit's name=) and stacks: keep them when esbuild renames.
      keepNames: true,
      logLevel: "silent",
    });
  } catch (e) {
    throw fromEsbuildError(e);
  }
  const js = out.code;
  const jsMap = JSON.parse(out.map) as EncodedSourceMap;

  // The rewriter works on `"\n" + js`: hoisted statements are moved in front of that
  // leading newline, which therefore never belongs to a moved range (magic-string cannot
  // move a range to an index inside itself, which is what hoisting the statement that
  // starts at 0 would be). The newline is removed again and the map's lines are shifted
  // back below, so `bodyMap` points into `js` itself.
  const src = "\n" + js;
  let program: AnyNode;
  try {
    program = acorn.parse(src, {
      ecmaVersion: "latest",
      sourceType: "module",
      allowAwaitOutsideFunction: true,
    }) as unknown as AnyNode;
  } catch (e) {
    // esbuild's output always parses; this only triggers on a disagreement between the two.
    const err = e as { message?: string; loc?: { line: number; column: number } };
    throw new CellSyntaxError(String(err.message ?? e), Math.max(1, (err.loc?.line ?? 2) - 1), (err.loc?.column ?? 0) + 1);
  }

  const s = new MagicString(src);
  const names = new Set<string>();
  const statements = program.body as AnyNode[];

  // 0. esbuild renames a nested binding that shadows a top-level one (`(params) => ...` beside a
  //    top-level `let params` becomes `params2`); its source map names the original. The
  //    original names are put back: the user's scoping was valid, and names show up in the
  //    gradients panel's parameter paths, stacks and the debugger.
  const renames = esbuildRenames(js, jsMap, source);
  if (renames.size) {
    const notRefs = new Set<AnyNode>();
    walk(program, (node) => {
      if (node.type === "MemberExpression" && !node.computed) notRefs.add(node.property as AnyNode);
      if ((node.type === "Property" || node.type === "MethodDefinition" || node.type === "PropertyDefinition") && !node.computed && !node.shorthand) notRefs.add(node.key as AnyNode);
    });
    walk(program, (node) => {
      if (node.type !== "Identifier" || notRefs.has(node)) return;
      const original = renames.get(node.name as string);
      if (original) s.overwrite(node.start, node.end, original);
    });
  }

  // 1. Expressions anywhere: dynamic import() and import.meta have no meaning inside a vm
  //    script, so both go through the runner.
  walk(program, (node) => {
    if (node.type === "ImportExpression") {
      s.overwrite(node.start, node.start + "import".length, IMPORT_FN);
    } else if (node.type === "MetaProperty" && (node.meta as AnyNode & { name: string }).name === "import") {
      s.overwrite(node.start, node.end, IMPORT_META);
    }
  });

  // 2. The last-value statement (decided before rewriting so step 3 can emit `return`).
  const valueStmt = findValueStatement(statements);

  // 3. Top-level statements. Hoisted ranges are collected and moved in step 4, because a
  //    magic-string insert must be made before its range is moved to travel with it.
  const hoistImports: AnyNode[] = [];
  const hoistFunctions: AnyNode[] = [];
  for (const stmt of statements) {
    let decl: AnyNode = stmt;
    if (stmt.type === "ExportNamedDeclaration" || stmt.type === "ExportDefaultDeclaration") {
      const inner = stmt.declaration as AnyNode | null;
      if (!inner) {
        // `export { a, b }` (esbuild writes `export const a` this way) and re-exports:
        // a cell has nobody to export to, so they are dropped.
        s.overwrite(stmt.start, stmt.end, "");
        continue;
      }
      const named =
        (inner.type === "FunctionDeclaration" || inner.type === "ClassDeclaration") && inner.id != null;
      if (stmt.type === "ExportDefaultDeclaration" && !named && inner.type !== "VariableDeclaration") {
        // `export default <expression>` is treated as an expression statement.
        s.overwrite(stmt.start, inner.start, stmt === valueStmt ? "return (" : "(");
        s.appendLeft(inner.end, ")");
        continue;
      }
      s.overwrite(stmt.start, inner.start, "");
      decl = inner;
    }
    switch (decl.type) {
      case "ImportDeclaration":
        // The newline keeps hoisted statements on their own lines (the map is per character,
        // so this is only for whoever reads the generated body).
        s.overwrite(decl.start, decl.end, rewriteImport(decl, names) + "\n");
        hoistImports.push(decl);
        break;
      case "VariableDeclaration":
        rewriteVariableDeclaration(s, decl, "statement", names);
        break;
      case "FunctionDeclaration": {
        const name = (decl.id as AnyNode & { name: string }).name;
        names.add(name);
        s.prependRight(decl.start, `${name} = `);
        s.appendLeft(decl.end, ";\n");
        hoistFunctions.push(decl);
        break;
      }
      case "ClassDeclaration": {
        const name = (decl.id as AnyNode & { name: string }).name;
        names.add(name);
        s.prependRight(decl.start, `${name} = `);
        s.appendLeft(decl.end, ";");
        break;
      }
      case "ExportAllDeclaration":
        s.overwrite(decl.start, decl.end, "");
        break;
      default:
        // `var` inside top-level blocks and loops is global in a script too (esbuild also
        // emits such `var`s when it lowers `using`), so those are rewritten as well.
        rewriteNestedVars(s, decl, names);
        if (decl === valueStmt) {
          // Wrap the whole statement without its `;`, not just `expression`: for
          // `({ a: 1 });` acorn's expression starts inside esbuild's parentheses.
          const end = src[decl.end - 1] === ";" ? decl.end - 1 : decl.end;
          s.prependRight(decl.start, "return (");
          s.appendLeft(end, ")");
        }
    }
  }

  // 4. ES modules evaluate imports before the body, and function declarations are hoisted:
  //    move both to the top, imports first, each group in source order.
  for (const node of [...hoistImports, ...hoistFunctions]) s.move(node.start, node.end, 0);
  s.remove(0, 1); // the leading newline (see above)

  const body = s.toString();
  const decoded = s.generateDecodedMap({ hires: true, source: opts.sourcefile + ".js", includeContent: false });
  // Undo the one-line shift of the leading newline: source line L of `src` is line L-1 of `js`.
  const mappings: SourceMapSegment[][] = decoded.mappings.map((line) =>
    line
      .filter((seg) => seg.length === 1 || seg[2] > 0)
      .map((seg): SourceMapSegment => {
        if (seg.length === 1) return seg;
        const shifted = [...seg] as typeof seg;
        shifted[2] -= 1;
        return shifted;
      }),
  );
  const bodyMap: DecodedSourceMap = { version: 3, sources: decoded.sources, names: decoded.names, mappings };
  return { body, bodyMap, js, jsMap, declaredNames: [...names], hasValue: valueStmt !== undefined };
}

/** Picks the statement whose value the cell returns, per the rule on {@link transformCell}. */
function findValueStatement(statements: AnyNode[]): AnyNode | undefined {
  for (let i = statements.length - 1; i >= 0; i--) {
    const st = statements[i];
    const inner = st.declaration as AnyNode | null | undefined;
    switch (st.type) {
      case "FunctionDeclaration":
      case "ImportDeclaration":
      case "EmptyStatement":
      case "ExportAllDeclaration":
        continue;
      case "ExportNamedDeclaration":
        if (!inner || inner.type === "FunctionDeclaration") continue;
        return undefined;
      case "ExportDefaultDeclaration":
        if (inner && inner.type === "FunctionDeclaration" && inner.id) continue; // hoisted
        if (inner && inner.type === "ClassDeclaration" && inner.id) return undefined;
        return st;
      case "ExpressionStatement": {
        // A lone string literal (`"hello"`) counts too, although acorn calls it a directive.
        const expr = st.expression as AnyNode;
        // `__name(f, "f")` is esbuild's keepNames bookkeeping after a declaration, not a value.
        const callee = expr.type === "CallExpression" ? (expr.callee as AnyNode) : null;
        if (callee && callee.type === "Identifier" && callee.name === "__name") continue;
        return expr.type === "AssignmentExpression" ? undefined : st;
      }
      default:
        return undefined;
    }
  }
  return undefined;
}

/** The replacement text of a top-level import declaration; adds its local names to `names`. */
function rewriteImport(node: AnyNode, names: Set<string>): string {
  const spec = JSON.stringify((node.source as AnyNode & { value: string }).value);
  const call = `await ${IMPORT_FN}(${spec})`;
  const specifiers = node.specifiers as (AnyNode & { local: { name: string }; imported?: AnyNode })[];
  let namespace: string | undefined;
  const props: string[] = [];
  for (const sp of specifiers) {
    const local = sp.local.name;
    names.add(local);
    if (sp.type === "ImportNamespaceSpecifier") namespace = local;
    else if (sp.type === "ImportDefaultSpecifier") props.push(`default: ${local}`);
    else {
      const imp = sp.imported as AnyNode & { name?: string; value?: string };
      // `import { "a-b" as c }` (ES2022 string names) needs a quoted key.
      const key = imp.type === "Identifier" ? (imp.name as string) : JSON.stringify(imp.value);
      props.push(`${key}: ${local}`);
    }
  }
  if (namespace === undefined && props.length === 0) return `${call};`;
  if (namespace === undefined) return `({ ${props.join(", ")} } = ${call});`;
  if (props.length === 0) return `${namespace} = ${call};`;
  return `${namespace} = ${call}; ({ ${props.join(", ")} } = ${namespace});`;
}

/**
 * Rewrites a variable declaration into assignments to the scope.
 * - "statement": `const a = 1, {b} = o;` → `(a = 1), ({b} = o);`
 * - "for-init":  `for (var i = 0, {n} = o; …)` → `for ((i = 0), ({n} = o); …)`
 * - "for-left":  `for (var [k, v] of m)` → `for ([k, v] of m)` (parentheses are not allowed there)
 * A `let` without initializer resets the name to undefined (re-running `let x;` starts
 * over); a `var` without one keeps the current value, as in JavaScript.
 */
function rewriteVariableDeclaration(
  s: MagicString,
  node: AnyNode,
  where: "statement" | "for-init" | "for-left",
  names: Set<string>,
): void {
  const decls = node.declarations as AnyNode[];
  s.overwrite(node.start, decls[0].start, "");
  for (const d of decls) {
    const id = d.id as AnyNode;
    collectPatternNames(id, names);
    if (where === "for-left") continue;
    if (d.init) {
      s.prependRight(d.start, "(");
      s.appendLeft(d.end, ")");
    } else if (node.kind === "var") {
      s.overwrite(d.start, d.end, "void 0");
    } else {
      s.overwrite(d.start, d.end, `(${(id as AnyNode & { name: string }).name} = undefined)`);
    }
  }
}

/** Rewrites `var` declarations nested in top-level control flow (not inside functions or classes). */
function rewriteNestedVars(s: MagicString, node: AnyNode, names: Set<string>): void {
  const visit = (n: AnyNode | null | undefined, where: "statement" | "for-init" | "for-left"): void => {
    if (!n || typeof n.type !== "string") return;
    if (n.type === "VariableDeclaration") {
      if (n.kind === "var") rewriteVariableDeclaration(s, n, where, names);
      return; // `let`/`const` in a block stay block-scoped, as in JavaScript
    }
    switch (n.type) {
      case "BlockStatement":
      case "StaticBlock":
        for (const c of n.body as AnyNode[]) visit(c, "statement");
        return;
      case "IfStatement":
        visit(n.consequent as AnyNode, "statement");
        visit(n.alternate as AnyNode, "statement");
        return;
      case "ForStatement":
        visit(n.init as AnyNode, "for-init");
        visit(n.body as AnyNode, "statement");
        return;
      case "ForInStatement":
      case "ForOfStatement":
        visit(n.left as AnyNode, "for-left");
        visit(n.body as AnyNode, "statement");
        return;
      case "WhileStatement":
      case "DoWhileStatement":
      case "LabeledStatement":
        visit(n.body as AnyNode, "statement");
        return;
      case "TryStatement":
        visit(n.block as AnyNode, "statement");
        visit((n.handler as AnyNode | null)?.body as AnyNode, "statement");
        visit(n.finalizer as AnyNode, "statement");
        return;
      case "SwitchStatement":
        for (const c of n.cases as AnyNode[]) for (const st of c.consequent as AnyNode[]) visit(st, "statement");
        return;
      default:
        return; // expressions, functions, classes: their `var`s are their own
    }
  };
  visit(node, "statement");
}

/** Adds the identifiers a binding pattern binds to `names`. */
function collectPatternNames(p: AnyNode | null, names: Set<string>): void {
  if (!p) return;
  switch (p.type) {
    case "Identifier":
      names.add(p.name as string);
      return;
    case "ObjectPattern":
      for (const prop of p.properties as AnyNode[]) {
        collectPatternNames((prop.type === "RestElement" ? prop.argument : prop.value) as AnyNode, names);
      }
      return;
    case "ArrayPattern":
      for (const el of p.elements as (AnyNode | null)[]) collectPatternNames(el, names);
      return;
    case "AssignmentPattern":
      collectPatternNames(p.left as AnyNode, names);
      return;
    case "RestElement":
      collectPatternNames(p.argument as AnyNode, names);
      return;
  }
}

/** Calls `visit` on every node of the tree (pre-order). */
function walk(node: AnyNode, visit: (n: AnyNode) => void): void {
  visit(node);
  for (const key of Object.keys(node)) {
    if (key === "type" || key === "start" || key === "end" || key === "loc") continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c === "object" && typeof (c as AnyNode).type === "string") walk(c as AnyNode, visit);
    } else if (v && typeof v === "object" && typeof (v as AnyNode).type === "string") {
      walk(v as AnyNode, visit);
    }
  }
}

/** Converts esbuild's thrown failure (with `.errors[]`) into a CellSyntaxError at the first error. */
function fromEsbuildError(e: unknown): Error {
  const failure = e as { errors?: esbuild.Message[] };
  const first = failure.errors?.[0];
  if (!first) return e instanceof Error ? e : new Error(String(e));
  const loc = first.location;
  return new CellSyntaxError(first.text, loc?.line ?? 1, (loc?.column ?? 0) + 1);
}

/**
 * The names esbuild gave renamed bindings, with the original each stands for: where its source
 * map names a segment differently from the identifier generated there. A generated name that
 * the cell's own source uses is left alone (renaming it could capture the user's variable).
 */
export function esbuildRenames(js: string, map: EncodedSourceMap, source: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!map.names || map.names.length === 0) return out;
  const lines = decodedMappings(new TraceMap(map));
  const ident = /[A-Za-z_$][\w$]*/y;
  let lineStart = 0;
  for (let l = 0; l < lines.length; l++) {
    for (const seg of lines[l]) {
      if (seg.length !== 5) continue;
      ident.lastIndex = lineStart + seg[0];
      const m = ident.exec(js);
      const original = map.names[seg[4]];
      if (m && m[0] !== original && /^[A-Za-z_$][\w$]*$/.test(original)) out.set(m[0], original);
    }
    const nl = js.indexOf("\n", lineStart);
    if (nl < 0) break;
    lineStart = nl + 1;
  }
  for (const g of [...out.keys()]) if (new RegExp(`(^|[^\\w$])${g.replace(/\$/g, "\\$")}($|[^\\w$])`).test(source)) out.delete(g);
  return out;
}
