// Signing in: the one-time login URL `decnet serve` prints (`/#login=CODE`: the code is in the
// fragment, never sent in a request line) is exchanged once for a session token; or a token
// from `decnet token create` is pasted. The token lives in sessionStorage (this tab only).
import type { StateCreator } from "zustand";
import type { Api } from "../api/client";
import { explain } from "../api/errors";
import type { Principal } from "../api/types";
import type { AppState } from "./index";

const KEY = "decnet.token";

export type SessionPhase = "starting" | "signed-out" | "signed-in";

export interface SessionSlice {
  token: string | null;
  principal: Principal | null;
  phase: SessionPhase;
  authMessage: string | null;
  boot(): Promise<void>;
  signInWithToken(token: string): Promise<void>;
  signOut(): Promise<void>;
  sessionExpired(): void;
}

function stored(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

function remember(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}

/** The login code of `#login=CODE`, or null; the caller removes it from the URL. */
export function loginCode(hash: string): string | null {
  const match = /(?:^#|&)login=([^&]+)/.exec(hash);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

export const sessionSlice =
  (api: Api): StateCreator<AppState, [], [], SessionSlice> =>
  (set, get) => ({
    token: stored(),
    principal: null,
    phase: "starting",
    authMessage: null,

    async boot() {
      const code = loginCode(window.location.hash);
      if (code) {
        history.replaceState(null, "", window.location.pathname + window.location.search);
        try {
          const session = await api.exchangeLogin(code);
          remember(session.token);
          set({ token: session.token });
        } catch (err) {
          set({ phase: "signed-out", authMessage: `The login link did not work: ${explain(err)}` });
          return;
        }
      }
      if (!get().token) {
        set({ phase: "signed-out" });
        return;
      }
      try {
        set({ principal: await api.whoami(), phase: "signed-in", authMessage: null });
      } catch (err) {
        remember(null);
        set({ token: null, principal: null, phase: "signed-out", authMessage: explain(err) });
      }
    },

    async signInWithToken(token: string) {
      const trimmed = token.trim();
      if (!trimmed) {
        set({ authMessage: "Paste a token first (decnet token create NAME --role admin|viewer)." });
        return;
      }
      set({ token: trimmed, authMessage: null });
      try {
        const principal = await api.whoami();
        remember(trimmed);
        set({ principal, phase: "signed-in" });
      } catch (err) {
        set({ token: null, principal: null, phase: "signed-out", authMessage: `That token did not work: ${explain(err)}` });
      }
    },

    async signOut() {
      get().closeEditor();
      get().disconnectList();
      if (get().principal?.name.startsWith("session-")) {
        await api.logout().catch(() => undefined);
      }
      remember(null);
      set({ token: null, principal: null, phase: "signed-out", authMessage: "Signed out." });
    },

    sessionExpired() {
      if (get().phase !== "signed-in") return;
      get().closeEditor();
      get().disconnectList();
      remember(null);
      set({
        token: null,
        principal: null,
        phase: "signed-out",
        authMessage: "Your session ended (the token expired or was revoked). Sign in again.",
      });
    },
  });
