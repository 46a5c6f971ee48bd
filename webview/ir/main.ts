// Starts the IR panel in a page: connects the bridge, builds the view, registers the toolkit's
// components and loads the highlighter (the lines in view re-render in colour once it is ready).
// Kept apart from the entry file so tests can start the panel in their own DOM.

import { Bridge, connect, errorText } from "../common/bridge";
import { loadHighlighter } from "../common/highlight";
import { registerToolkit } from "../common/toolkit";
import { IrView } from "./view";

/** Starts the panel in `root`; returns the view, the bridge (with `dispose`) and when highlighting is ready. */
export function startIrPanel(root: HTMLElement): { view: IrView; bridge: Bridge & { dispose(): void }; ready: Promise<void> } {
  registerToolkit();
  let view: IrView | null = null;
  // The bridge delivers messages asynchronously; any that arrive before the view exists wait here.
  const early: Parameters<IrView["onMessage"]>[0][] = [];
  const bridge = connect("ir", (m) => (view ? view.onMessage(m) : early.push(m)));
  view = new IrView(root, bridge);
  for (const m of early) view.onMessage(m);
  const v = view;
  const ready = loadHighlighter().then(
    (ok) => {
      if (ok) v.refresh();
      else bridge.post({ type: "log", level: "warn", message: "IR panel: syntax highlighting unavailable, showing plain text" });
    },
    (err) => bridge.post({ type: "log", level: "error", message: `IR panel: ${errorText(err)}` }),
  );
  return { view: v, bridge, ready };
}
