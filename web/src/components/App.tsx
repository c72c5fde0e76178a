import { useEffect, useSyncExternalStore } from "react";
import { parseRoute } from "../model/route";
import { useStore } from "../store";
import { Editor } from "./Editor";
import { SignIn } from "./SignIn";
import { TopologyList } from "./TopologyList";

function subscribeHash(notify: () => void): () => void {
  window.addEventListener("hashchange", notify);
  return () => window.removeEventListener("hashchange", notify);
}

const useHash = (): string => useSyncExternalStore(subscribeHash, () => window.location.hash);

export function App() {
  const phase = useStore((s) => s.phase);
  const principal = useStore((s) => s.principal);
  const boot = useStore((s) => s.boot);
  const signOut = useStore((s) => s.signOut);
  const route = parseRoute(useHash());

  useEffect(() => {
    void boot();
  }, [boot]);

  if (phase === "starting") return <div className="splash">decnet…</div>;
  if (phase === "signed-out" || !principal) return <SignIn />;
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">
          decnet
        </a>
        <span className="who" data-testid="who">
          {principal.name} · <b>{principal.role}</b>
          {principal.role === "viewer" && <span className="readonly-note"> (read-only: viewers can look but not change)</span>}
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      {route.page === "topology" ? <Editor key={route.name} name={route.name} /> : <TopologyList />}
    </div>
  );
}
