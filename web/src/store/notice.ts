// The one notice line of the app (the list and the editor share it). Information goes away by
// itself after a while; a warning or an error stays until it is dismissed or replaced.
import type { StateCreator } from "zustand";
import type { Notice } from "../model/live";
import type { AppState } from "./index";

export const INFO_SECONDS = 8;

export interface NoticeSlice {
  notice: Notice | null;
  setNotice(notice: Notice | null): void;
  say(kind: Notice["kind"], text: string): void;
}

export const noticeSlice: StateCreator<AppState, [], [], NoticeSlice> = (set, get) => {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    notice: null,
    setNotice(notice) {
      if (timer) clearTimeout(timer);
      timer = null;
      set({ notice });
      if (notice?.kind === "info") {
        timer = setTimeout(() => {
          if (get().notice === notice) set({ notice: null });
        }, INFO_SECONDS * 1000);
      }
    },
    say(kind, text) {
      get().setNotice({ kind, text });
    },
  };
};
