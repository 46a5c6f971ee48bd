/// <reference lib="dom" />
// The panels' tests' stand-in for VS Code's side of a webview: `acquireVsCodeApi()` through the
// bridge's test hook (webview/common/bridge.ts reads `globalThis.__primalTestApi`), with every
// message the page posts checked by the extension's own guard, and host messages delivered as
// VS Code delivers them (a JSON round trip, then a window message event).

import { afterEach, expect } from "vitest";
import { HostToPanel, PanelToHost, validateHostMessage, validatePanelMessage } from "../../kernel/protocol";

/** What a page posted, and its saved state (`setState`), starting from `saved`. */
export interface FakeApi {
  posted: PanelToHost[];
  state: { v: unknown };
}

/** Installs the stand-in for `acquireVsCodeApi`; a message the extension would reject fails the test. */
export function installFakeApi(saved?: unknown): FakeApi {
  const posted: PanelToHost[] = [];
  const state = { v: saved };
  (globalThis as Record<string, unknown>).__primalTestApi = {
    postMessage: (m: unknown) => {
      const ok = validatePanelMessage(JSON.parse(JSON.stringify(m)));
      if (typeof ok === "string") throw new Error(ok);
      posted.push(ok);
    },
    getState: () => state.v,
    setState: (s: unknown) => (state.v = JSON.parse(JSON.stringify(s))),
  };
  return { posted, state };
}

/** Removes the stand-in. */
export function removeFakeApi(): void {
  delete (globalThis as Record<string, unknown>).__primalTestApi;
}

/** Sends a message as the extension does: JSON round trip, checked by the panel's guard first. */
export function sendToPanel(m: HostToPanel): void {
  const data = JSON.parse(JSON.stringify(m));
  expect(typeof validateHostMessage(data)).toBe("object");
  window.dispatchEvent(new MessageEvent("message", { data }));
}

/** A panel started in a fresh root of the test's DOM, with what it posts and saves. */
export interface Harness<V> {
  root: HTMLElement;
  view: V;
  posted: PanelToHost[];
  state: { v: unknown };
  dispose(): void;
}

/** Starts a panel (`startIrPanel`, `startKernelsPanel`) in a fresh root, optionally with saved state. */
export async function startInDom<V>(start: (root: HTMLElement) => { view: V; bridge: { dispose(): void }; ready: Promise<void> }, saved?: unknown): Promise<Harness<V>> {
  const { posted, state } = installFakeApi(saved);
  const root = document.createElement("div");
  document.body.append(root);
  const { view, bridge, ready } = start(root);
  const h = { root, view, posted, state, dispose: () => bridge.dispose() };
  started.push(h);
  await ready;
  return h;
}

const started: { dispose(): void }[] = [];

/** After each test of the file: disposes every panel startInDom started, removes the stand-in and empties the DOM. */
export function cleanUpPanelsAfterEach(): void {
  afterEach(() => {
    for (const h of started.splice(0)) h.dispose();
    removeFakeApi();
    document.body.replaceChildren();
  });
}
