// Syntax highlighting in the panels with the same TextMate grammars VS Code uses for these
// languages (syntaxes/ for the jaxpr text, WGSL and WAT; shiki's copy of VS Code's JavaScript
// grammar for the CPU kernels), tokenized by shiki with its JavaScript regex engine: the
// Oniguruma engine is WebAssembly, which the pages' CSP does not allow. Colours are CSS
// variables (`var(--shiki-token-keyword)`), mapped to the editor theme's colours in panel.css,
// so a panel follows the theme (light, dark, high contrast) without re-tokenizing.
//
// Loading is asynchronous and happens once; after it, highlighting is synchronous so a panel can
// render the rows it is about to show. Before the load, or if it failed, lines come back as plain
// text (no colours): highlighting never throws and never blocks a panel from rendering.

import { createCssVariablesTheme, createHighlighterCore, type HighlighterCore, type LanguageRegistration, type ThemeRegistration } from "shiki/core";
import { createJavaScriptRegexEngine } from "shiki/engine/javascript";
import javascript from "@shikijs/langs/javascript";
import jaxprGrammar from "../../syntaxes/jaxpr.tmLanguage.json";
import wgslGrammar from "../../syntaxes/wgsl.tmLanguage.json";
import watGrammar from "../../syntaxes/wat.tmLanguage.json";

/** Languages the panels highlight. */
export type HighlightLanguage = "primal-ir" | "wgsl" | "javascript" | "wat";

/** A run of text and its colour (a CSS colour, usually `var(--shiki-...)`); no colour: the foreground. */
export interface Token {
  text: string;
  color?: string;
}

const THEME = "primal-css-variables";
/**
 * Time allowed per line before shiki gives up colouring the rest of it (its default, 500 ms, is
 * hit by a grammar's first use on a busy machine; long lines are already cut by MAX_LINE).
 */
const LINE_TIME_LIMIT_MS = 5000;
/** Lines longer than this are not tokenized (a pathological line must not stall the page). */
const MAX_LINE = 4000;
/** Highlighted texts kept, most recent last (panels re-render the same source while scrolling). */
const CACHE_SIZE = 24;

let highlighter: HighlighterCore | null = null;
let loading: Promise<boolean> | null = null;
let failure: string | null = null;
const cache = new Map<string, Token[][]>();

/**
 * shiki's css-variables theme, plus a few scopes it leaves uncoloured that matter in jaxprs and
 * kernels (dtypes, binders, kernel names), given their own variables.
 */
function theme(): ThemeRegistration {
  const base = createCssVariablesTheme({ name: THEME, variablePrefix: "--shiki-", fontStyle: true });
  const v = (name: string) => `var(--shiki-${name})`;
  return {
    ...base,
    tokenColors: [
      ...(base.tokenColors ?? []),
      { scope: ["storage.type.dtype", "support.type.dtype", "support.type.primitive", "entity.name.type"], settings: { foreground: v("token-type") } },
      { scope: ["variable.other.definition", "variable.parameter"], settings: { foreground: v("token-variable") } },
      { scope: ["entity.name.function.primitive", "entity.name.function.kernel"], settings: { foreground: v("token-function") } },
    ],
  };
}

/** The grammar JSON, registered under the panel's language id. */
const grammar = (g: object, name: string, aliases: string[] = []) => ({ ...(g as Record<string, unknown>), name, aliases }) as unknown as LanguageRegistration;

/**
 * Loads the grammars and the theme (once; later calls return the same promise). Resolves true
 * when highlighting is available, false when it failed (the reason: {@link highlightError}).
 */
export function loadHighlighter(): Promise<boolean> {
  loading ??= (async () => {
    try {
      highlighter = await createHighlighterCore({
        themes: [theme()],
        // Order matters only for embedding: primal-ir includes source.js/.wgsl/.wat by scope name.
        langs: [javascript, grammar(wgslGrammar, "wgsl"), grammar(watGrammar, "wat"), grammar(jaxprGrammar, "primal-ir", ["jaxpr"])],
        // `forgiving`: a pattern the JS engine cannot express is skipped instead of failing the grammar.
        engine: createJavaScriptRegexEngine({ forgiving: true }),
      });
      cache.clear();
      warmUp();
      return true;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
      return false;
    }
  })();
  return loading;
}

/** Small samples of what the panels highlight, to compile each grammar's common rules early. */
const SAMPLES: [HighlightLanguage, string][] = [
  ["primal-ir", "{ lambda ; a:f32[3]. let\n    b:f32[3] = mul a 2.0:f32[]\n    c:f32[] = reduce_sum[axes=(0,)] b\n  in (c,) }"],
  ["javascript", '"use strict";\nconst n = 4 | 0, s = new Float32Array(8); // c\nfor (let i = 0; i < n; i++) { out[i] = Math.tanh(a[i] * 2.0) + 1; }\nfunction f(x) { return x >= 0 ? x : -x; }'],
  ["wgsl", "@group(0) @binding(0) var<storage, read> a: array<f32>;\n@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) gid: vec3<u32>) { let x: f32 = a[gid.x] * 2.0f; }"],
  ["wat", "(func $kernel (param $0 i32) (local $1 f32)\n  local.get 0\n  f32.load offset=4\n  f32.const 1\n  f32.add)"],
];

/**
 * Tokenizes a small sample of each language, one per task, after loading: the JS regex engine
 * translates a grammar's patterns when they are first used, which for VS Code's JavaScript
 * grammar takes a few hundred milliseconds, better spent before the user opens a kernel than after.
 */
function warmUp(): void {
  let i = 0;
  const next = () => {
    if (!highlighter || i >= SAMPLES.length) return;
    const [lang, code] = SAMPLES[i++];
    try {
      highlighter.codeToTokensBase(code, { lang, theme: THEME });
    } catch {
      // a failing language falls back to plain text when used
    }
    setTimeout(next, 0);
  };
  setTimeout(next, 0);
}

/** Whether {@link loadHighlighter} has finished successfully. */
export function highlighterReady(): boolean {
  return highlighter !== null;
}

/** Why loading failed, or null. */
export function highlightError(): string | null {
  return failure;
}

/** The text as uncoloured lines. */
function plain(code: string): Token[][] {
  return code.split("\n").map((l) => (l ? [{ text: l }] : []));
}

/**
 * The code's lines as coloured tokens (adjacent tokens of one colour merged). Plain text when
 * the highlighter is not loaded or the language fails; never throws.
 */
export function highlightLines(code: string, lang: HighlightLanguage): Token[][] {
  const text = code.replace(/\r\n?/g, "\n");
  if (!highlighter) return plain(text);
  const key = `${lang}\u0000${text}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  let lines: Token[][];
  try {
    const themed = highlighter.codeToTokensBase(text, { lang, theme: THEME, tokenizeMaxLineLength: MAX_LINE, tokenizeTimeLimit: LINE_TIME_LIMIT_MS });
    const fg = highlighter.getTheme(THEME).fg;
    lines = themed.map((line) => mergeTokens(line, fg));
  } catch {
    lines = plain(text);
  }
  cache.set(key, lines);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return lines;
}

/** A line of tokens as `<span class="code-line">` with a coloured span per token (colours through the CSSOM). */
export function renderLine(tokens: Token[]): HTMLElement {
  const line = document.createElement("span");
  line.className = "code-line";
  for (const t of tokens) {
    if (!t.color) {
      line.append(t.text);
      continue;
    }
    const s = document.createElement("span");
    s.textContent = t.text;
    s.style.color = t.color;
    line.append(s);
  }
  return line;
}

/** Lines tokenized per background chunk by {@link LazyHighlight} (~50 ms of the JavaScript grammar). */
const CHUNK_LINES = 200;
/** Lines tokenized per chunk when a line is needed now: just past what is in view. */
const SYNC_CHUNK_LINES = 50;

/**
 * A long source highlighted on demand: the grammar state is carried from chunk to chunk, so the
 * lines in view can be coloured without tokenizing the whole text first (VS Code's JavaScript
 * grammar takes ~0.3 ms a line under the JS regex engine: 5,000 lines would block the page for
 * over a second). Lines not tokenized yet come back as plain text.
 */
export class LazyHighlight {
  readonly lines: string[];
  private readonly done: Token[][] = [];
  private state: unknown = undefined;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failed = false;

  constructor(
    code: string,
    readonly lang: HighlightLanguage,
  ) {
    this.lines = code.replace(/\r\n?/g, "\n").split("\n");
  }

  /** Number of lines. */
  get lineCount(): number {
    return this.lines.length;
  }

  /** Lines tokenized so far (from the top). */
  get tokenized(): number {
    return this.done.length;
  }

  /** Line `i`'s tokens: coloured when tokenized, else the plain line. */
  line(i: number): Token[] {
    const t = this.done[i];
    if (t) return t;
    const l = this.lines[i] ?? "";
    return l ? [{ text: l }] : [];
  }

  /** Tokenizes synchronously through line `i` (no-op when not loaded or already done). */
  ensure(i: number): void {
    const last = Math.min(i, this.lines.length - 1);
    while (this.done.length <= last && this.step(SYNC_CHUNK_LINES)) {
      // one chunk per iteration
    }
  }

  /**
   * Tokenizes the rest in the background, a chunk per task so input stays responsive;
   * `onProgress(upTo)` runs after each chunk with the number of lines done. Returns a cancel.
   */
  background(onProgress: (upTo: number) => void): () => void {
    const tick = () => {
      this.timer = null;
      if (!this.step()) return;
      onProgress(this.done.length);
      if (this.done.length < this.lines.length) this.timer = setTimeout(tick, 0);
    };
    if (this.done.length < this.lines.length && !this.timer) this.timer = setTimeout(tick, 0);
    return () => this.cancel();
  }

  /** Stops background tokenizing. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Tokenizes the next `size` lines; false when nothing more can be done. */
  private step(size = CHUNK_LINES): boolean {
    if (!highlighter || this.failed || this.done.length >= this.lines.length) return false;
    const from = this.done.length;
    const chunk = this.lines.slice(from, from + size);
    try {
      const opts = { lang: this.lang, theme: THEME, tokenizeMaxLineLength: MAX_LINE, tokenizeTimeLimit: LINE_TIME_LIMIT_MS, grammarState: this.state as never };
      const themed = highlighter.codeToTokensBase(chunk.join("\n"), opts);
      this.state = highlighter.getLastGrammarState(themed);
      const fg = highlighter.getTheme(THEME).fg;
      for (const line of themed) this.done.push(mergeTokens(line, fg));
    } catch {
      this.failed = true;
      return false;
    }
    return true;
  }
}

/** shiki's tokens as ours: the foreground colour dropped, adjacent runs of one colour merged. */
function mergeTokens(line: { content: string; color?: string }[], fg: string): Token[] {
  const out: Token[] = [];
  for (const t of line) {
    const color = t.color && t.color !== fg ? t.color : undefined;
    const last = out[out.length - 1];
    if (last && last.color === color) last.text += t.content;
    else out.push(color ? { text: t.content, color } : { text: t.content });
  }
  return out;
}
