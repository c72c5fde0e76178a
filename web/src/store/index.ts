// The one store of the editor (zustand): session, the notice line, topology list, and the open
// topology with its activity view.
import { create, type StoreApi, type UseBoundStore } from "zustand";
import { type Api, createApi } from "../api/client";
import { type ActivitySlice, activitySlice } from "./activity";
import { type EditorSlice, editorSlice } from "./editor";
import { type ListSlice, listSlice } from "./list";
import { type NoticeSlice, noticeSlice } from "./notice";
import { type SessionSlice, sessionSlice } from "./session";

export type AppState = SessionSlice & NoticeSlice & ListSlice & EditorSlice & ActivitySlice;

export function createAppStore(makeApi: (get: () => AppState) => Api): UseBoundStore<StoreApi<AppState>> {
  return create<AppState>()((...args) => {
    const api = makeApi(args[1]);
    return { ...sessionSlice(api)(...args), ...noticeSlice(...args), ...listSlice(api)(...args), ...editorSlice(api)(...args), ...activitySlice(api)(...args) };
  });
}

export const useStore = createAppStore((get) =>
  createApi({ token: () => get().token, onUnauthorized: () => get().sessionExpired() }),
);
