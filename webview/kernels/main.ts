// Starts the kernels panel in a page (see common/start.ts); kept apart from the entry file so
// tests can start the panel in their own DOM.

import { StartedPanel, startPanel } from "../common/start";
import { KernelsView } from "./view";

/** Starts the panel in `root`; returns the view, the bridge (with `dispose`) and when highlighting is ready. */
export function startKernelsPanel(root: HTMLElement): StartedPanel<KernelsView> {
  return startPanel("kernels", "kernels panel", root, (r, bridge) => new KernelsView(r, bridge));
}
