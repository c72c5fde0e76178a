import { type FormEvent, useState } from "react";
import { uniqueName } from "../model/builders";
import { routeHash } from "../model/route";
import { useStore } from "../store";

/** "Deploy again" for a torn-down topology: a pending copy under a new name (the same design,
 * its secrets copied on the server), deployed at once or opened first. */
export function CopyDialog({ name, onClose }: { name: string; onClose(): void }) {
  const topologies = useStore((s) => s.topologies);
  const copyTopology = useStore((s) => s.copyTopology);
  const [copyName, setCopyName] = useState(() => uniqueName(name.replace(/-\d+$/, ""), [name, ...topologies.map((t) => t.name)]));
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent, deploy: boolean): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    const made = await copyTopology(name, copyName.trim(), deploy);
    setBusy(false);
    if (!made) return;
    onClose();
    window.location.hash = routeHash({ page: "topology", name: made });
  };
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <form className="modal" role="dialog" aria-label={`Deploy a copy of ${name}`} onClick={(e) => e.stopPropagation()} onSubmit={(e) => void submit(e, true)} data-testid="copy-dialog">
        <h2>Deploy a copy of {name}</h2>
        <p>
          A torn-down topology is not deployed again under its own name: a copy is, with the same LANs, deckies, services, settings and secrets (copied on the
          server), on the same subnets.
        </p>
        <label>
          name of the copy
          <input value={copyName} onChange={(e) => setCopyName(e.target.value)} data-testid="copy-name" />
        </label>
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" disabled={busy} onClick={(e) => void submit(e, false)} data-testid="copy-open">
            Copy and open
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="copy-deploy">
            Copy and deploy
          </button>
        </div>
      </form>
    </div>
  );
}
