// The panel's end of the postMessage channel to the extension. Every message from the host is
// validated with the protocol's guard before a panel sees it (a webview must not trust what it
// is sent any more than the extension trusts the webview); a rejected one is reported back to
// the extension as a `log` message and otherwise ignored. Outside VS Code (unit tests) the API
// comes from `globalThis.__primalTestApi` when a test installs one, else posting does nothing.

/// <reference path="./vscode-api.d.ts" />
import { HostToPanel, PanelKind, PanelToHost, validateHostMessage } from "../../kernel/protocol";

/** What a panel uses to talk to the extension and to keep its view state. */
export interface Bridge {
  /** Sends a message to the extension. */
  post(m: PanelToHost): void;
  /** The state last saved with {@link Bridge.setState} (survives hiding and reloads), if any. */
  getState<T>(): T | undefined;
  /** Saves the panel's view state (must be JSON-serialisable). */
  setState<T>(s: T): void;
}

/** The test double unit tests install as `globalThis.__primalTestApi`. */
export interface TestApi {
  postMessage(m: unknown): void;
  getState?(): unknown;
  setState?(s: unknown): void;
}

let api: VsCodeWebviewApi | null = null;

/** `acquireVsCodeApi()` may be called once per page: keep what it returned. */
function vscodeApi(): VsCodeWebviewApi {
  if (api) return api;
  if (typeof acquireVsCodeApi === "function") {
    api = acquireVsCodeApi();
    return api;
  }
  const test = (globalThis as { __primalTestApi?: TestApi }).__primalTestApi;
  if (test) {
    let state: unknown;
    // Not cached: a test may install a fresh double per case.
    return {
      postMessage: (m) => test.postMessage(m),
      getState: () => (test.getState ? test.getState() : state),
      setState: (s) => (test.setState ? test.setState(s) : (state = s)),
    };
  }
  let state: unknown;
  return { postMessage: () => undefined, getState: () => state, setState: (s) => (state = s) };
}

/**
 * Connects a panel: listens for the extension's messages (validated; malformed ones are logged
 * to the extension and dropped), then posts `ready` so the extension sends the panel's data.
 * Returns the bridge and a way to stop listening (`dispose`, for tests and reloads).
 */
export function connect(kind: PanelKind, onMessage: (m: HostToPanel) => void): Bridge & { dispose(): void } {
  const vs = vscodeApi();
  const post = (m: PanelToHost) => vs.postMessage(m);
  const listener = (e: MessageEvent) => {
    const m = validateHostMessage(e.data);
    if (typeof m === "string") {
      post({ type: "log", level: "warn", message: `${kind} panel ignored a message: ${m}` });
      return;
    }
    try {
      onMessage(m);
    } catch (err) {
      // A rendering bug must not kill the page's listener: report it and keep going.
      post({ type: "log", level: "error", message: `${kind} panel failed on ${m.type}: ${errorText(err)}` });
    }
  };
  window.addEventListener("message", listener);
  const bridge = {
    post,
    getState: <T>() => (vs.getState() ?? undefined) as T | undefined,
    setState: <T>(s: T) => vs.setState(s),
    dispose: () => window.removeEventListener("message", listener),
  };
  post({ type: "ready" });
  return bridge;
}

/** An error's message and the first lines of its stack, short enough for a log message. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.message}${err.stack ? `\n${err.stack.split("\n").slice(1, 6).join("\n")}` : ""}`.slice(0, 4000);
  return String(err).slice(0, 4000);
}
