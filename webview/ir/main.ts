// Starts the IR panel in a page (see common/start.ts); kept apart from the entry file so tests
// can start the panel in their own DOM.

import { StartedPanel, startPanel } from "../common/start";
import { IrView } from "./view";

/** Starts the panel in `root`; returns the view, the bridge (with `dispose`) and when highlighting is ready. */
export function startIrPanel(root: HTMLElement): StartedPanel<IrView> {
  return startPanel("ir", "IR panel", root, (r, bridge) => new IrView(r, bridge));
}
