// Starts a panel in a page: registers the toolkit's components, connects the bridge, builds the
// view and loads the highlighter (the rows in view re-render in colour once it is ready, or the
// panel logs that it shows plain text). Kept apart from the entry files so tests can start a
// panel in their own DOM.

import { PanelKind } from "../../kernel/protocol";
import { Bridge, connect, errorText } from "./bridge";
import { loadHighlighter } from "./highlight";
import { registerToolkit } from "./toolkit";

/** What a panel's view offers the starter. */
export interface PanelView {
  onMessage(m: Parameters<Parameters<typeof connect>[1]>[0]): void;
  /** Re-renders what is shown (after the highlighter loads; panels without code need none). */
  refresh?(): void;
}

/** A started panel: its view, the bridge (with `dispose`), and when highlighting is ready. */
export interface StartedPanel<V> {
  view: V;
  bridge: Bridge & { dispose(): void };
  ready: Promise<void>;
}

/** Starts the panel of `kind` in `root`, its view made by `makeView`; `label` names it in logs. */
export function startPanel<V extends PanelView>(kind: PanelKind, label: string, root: HTMLElement, makeView: (root: HTMLElement, bridge: Bridge) => V): StartedPanel<V> {
  const refresh = () => view?.refresh?.();
  registerToolkit();
  let view: V | null = null;
  // The bridge delivers messages asynchronously; any that arrive before the view exists wait here.
  const early: Parameters<V["onMessage"]>[0][] = [];
  const bridge = connect(kind, (m) => (view ? view.onMessage(m) : early.push(m)));
  const v = (view = makeView(root, bridge));
  for (const m of early) v.onMessage(m);
  if (!v.refresh) return { view: v, bridge, ready: Promise.resolve() };
  const ready = loadHighlighter().then(
    (ok) => {
      if (ok) refresh();
      else bridge.post({ type: "log", level: "warn", message: `${label}: syntax highlighting unavailable, showing plain text` });
    },
    (err) => bridge.post({ type: "log", level: "error", message: `${label}: ${errorText(err)}` }),
  );
  return { view: v, bridge, ready };
}
