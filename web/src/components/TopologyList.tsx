import { useEffect, useState } from "react";
import type { TopologySummary } from "../api/types";
import { allows, blockedWhy, offersCopy } from "../model/lifecycle";
import { plural, statusWords } from "../model/words";
import { routeHash } from "../model/route";
import { useStore } from "../store";
import { Confirm } from "./Confirm";
import { CopyDialog } from "./CopyDialog";
import { CreateDialog } from "./CreateDialog";
import { download } from "./download";
import { StatusPill } from "./StatusPill";

const VIEWER = "viewers cannot change anything: sign in with an admin token";

function Row({ t, admin, onDelete, onCopy }: { t: TopologySummary; admin: boolean; onDelete(t: TopologySummary): void; onCopy(name: string): void }) {
  const lastRun = useStore((s) => s.lastRuns[t.name]);
  const inFlight = useStore((s) => s.inFlight[t.name] ?? 0);
  const deploy = useStore((s) => s.deploy);
  const teardown = useStore((s) => s.teardown);
  const exportYaml = useStore((s) => s.exportYaml);
  const why = (action: "deploy" | "teardown" | "delete"): string | undefined =>
    !admin ? VIEWER : (blockedWhy(t, action) ?? undefined);

  const exportIt = async (): Promise<void> => {
    const text = await exportYaml(t.name);
    if (text !== null) download(`${t.name}.yml`, text, "application/yaml");
  };

  return (
    <tr data-testid={`row-${t.name}`}>
      <td>
        <a href={routeHash({ page: "topology", name: t.name })} data-testid={`open-${t.name}`}>
          {t.name}
        </a>
      </td>
      <td>{t.host}</td>
      <td>
        <StatusPill status={t.status} />
        {t.needs_resync && <span className="tag warn" title="drift found: reconcile re-applies it"> resync</span>}
        {inFlight > 0 && <span className="tag amber"> {inFlight} in flight</span>}
      </td>
      <td className="num">{t.lans}</td>
      <td className="num">{t.deckies}</td>
      <td>{lastRun ? `${lastRun.kind} ${lastRun.state}${lastRun.at ? ` · ${lastRun.at.slice(0, 19).replace("T", " ")}` : ""}` : "—"}</td>
      <td>
        <div className="actions">
        {admin && offersCopy(t) ? (
          <button type="button" className="primary" title={why("deploy")} onClick={() => onCopy(t.name)} data-testid={`deploy-copy-${t.name}`}>
            Deploy a copy…
          </button>
        ) : (
          <button type="button" disabled={!admin || !allows(t, "deploy")} title={why("deploy")} onClick={() => void deploy(t.name)}>
            Deploy
          </button>
        )}
        <button type="button" disabled={!admin || !allows(t, "teardown")} title={why("teardown")} onClick={() => void teardown(t.name)}>
          Tear down
        </button>
        <button type="button" onClick={() => void exportIt()}>
          Export YAML
        </button>
        <button
          type="button"
          className="danger"
          disabled={!admin || !allows(t, "delete")}
          title={why("delete")}
          onClick={() => onDelete(t)}
        >
          Delete
        </button>
        </div>
      </td>
    </tr>
  );
}

export function TopologyList() {
  const topologies = useStore((s) => s.topologies);
  const loaded = useStore((s) => s.listLoaded);
  const message = useStore((s) => s.notice);
  const stream = useStore((s) => s.listStream);
  const admin = useStore((s) => s.principal?.role === "admin");
  const connect = useStore((s) => s.connectList);
  const disconnect = useStore((s) => s.disconnectList);
  const loadList = useStore((s) => s.loadList);
  const deleteTopology = useStore((s) => s.deleteTopology);
  const loadCatalog = useStore((s) => s.loadCatalog);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<TopologySummary | null>(null);
  const [copying, setCopying] = useState<string | null>(null);

  useEffect(() => {
    void loadList();
    void loadCatalog();
    connect();
    return disconnect;
  }, [connect, disconnect, loadList, loadCatalog]);

  return (
    <main className="list-page">
      <div className="list-head">
        <h1>Topologies</h1>
        <span className={`stream stream-${stream}`} title="live updates from the event stream">
          {stream === "open" ? "live" : stream}
        </span>
        <button type="button" className="primary" disabled={!admin} title={admin ? undefined : VIEWER} onClick={() => setCreating(true)} data-testid="new-topology">
          New topology
        </button>
      </div>
      {message && (
        <p className={`notice notice-${message.kind}`} role="status" data-testid="list-message">
          {message.text}
        </p>
      )}
      <table className="topologies">
        <thead>
          <tr>
            <th>name</th>
            <th>host</th>
            <th>status</th>
            <th>LANs</th>
            <th>deckies</th>
            <th>last run</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {topologies.map((t) => (
            <Row key={t.name} t={t} admin={admin} onDelete={setDeleting} onCopy={setCopying} />
          ))}
        </tbody>
      </table>
      {loaded && topologies.length === 0 && <p className="empty">No topologies yet. Create one: generate it, start blank, or upload a topology file.</p>}
      {creating && <CreateDialog onClose={() => setCreating(false)} />}
      {copying && <CopyDialog name={copying} onClose={() => setCopying(null)} />}
      {deleting && (
        <Confirm
          title={`Delete ${deleting.name}?`}
          confirm="Delete"
          danger
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            void deleteTopology(deleting.name, deleting.version);
            setDeleting(null);
          }}
        >
          <p>
            This removes the topology, its {plural(deleting.lans, "LAN")} and {plural(deleting.deckies, "decky")} from the database. It is {statusWords(deleting.status)}:
            nothing of it runs on a host.
          </p>
        </Confirm>
      )}
    </main>
  );
}
