// Starts the kernels panel in a page: connects the bridge, builds the view, loads the
// highlighter (the rows re-render in colour once it is ready) and registers the toolkit's
// components. Kept apart from the entry file so tests can start the panel in their own DOM.

import { Bridge, connect, errorText } from "../common/bridge";
import { loadHighlighter } from "../common/highlight";
import { registerToolkit } from "../common/toolkit";
import { KernelsView } from "./view";

/** Starts the panel in `root`; returns the view and the bridge (with `dispose`). */
export function startKernelsPanel(root: HTMLElement): { view: KernelsView; bridge: Bridge & { dispose(): void }; ready: Promise<void> } {
  registerToolkit();
  let view: KernelsView | null = null;
  // Messages arrive asynchronously, after the view below exists; buffer any that do not.
  const early: Parameters<KernelsView["onMessage"]>[0][] = [];
  const bridge = connect("kernels", (m) => (view ? view.onMessage(m) : early.push(m)));
  view = new KernelsView(root, bridge);
  for (const m of early) view.onMessage(m);
  const v = view;
  const ready = loadHighlighter().then((ok) => {
    if (ok) v.refresh();
    else bridge.post({ type: "log", level: "warn", message: "kernels panel: syntax highlighting unavailable, showing plain text" });
  }, (err) => bridge.post({ type: "log", level: "error", message: `kernels panel: ${errorText(err)}` }));
  return { view: v, bridge, ready };
}
