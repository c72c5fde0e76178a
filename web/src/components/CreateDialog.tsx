import { type FormEvent, useState } from "react";
import { defaultGeneratorForm, type GeneratorForm, generatorSpec } from "../model/forms";
import { routeHash } from "../model/route";
import { useStore } from "../store";

type Mode = "generate" | "blank" | "upload";

const FIELDS: { key: keyof GeneratorForm; label: string; hint?: string }[] = [
  { key: "name", label: "name", hint: "lowercase, digits, '-'" },
  { key: "host", label: "host", hint: "inventory host" },
  { key: "depth", label: "depth", hint: "1–16 levels of LANs" },
  { key: "branching", label: "branching", hint: "1–8 child LANs each" },
  { key: "deckies_min", label: "deckies per LAN, min" },
  { key: "deckies_max", label: "deckies per LAN, max" },
  { key: "forward_p", label: "forwarding probability", hint: "0–1" },
  { key: "cross_p", label: "cross-edge probability", hint: "0–1" },
  { key: "services", label: "services", hint: "comma-separated; empty: archetypes" },
  { key: "publish", label: "publish on the gateway", hint: "e.g. 2222:22" },
  { key: "seed", label: "seed" },
];

function GenerateForm({ form, setForm }: { form: GeneratorForm; setForm(f: GeneratorForm): void }) {
  return (
    <div className="form-grid">
      {FIELDS.map((f) => (
        <label key={f.key}>
          {f.label}
          <input
            value={form[f.key]}
            placeholder={f.hint}
            onChange={(e) => setForm({ ...form, [f.key]: e.target.value })}
            data-testid={`gen-${f.key}`}
          />
        </label>
      ))}
    </div>
  );
}

export function CreateDialog({ onClose }: { onClose(): void }) {
  const [mode, setMode] = useState<Mode>("generate");
  const [form, setForm] = useState<GeneratorForm>(defaultGeneratorForm);
  const [blank, setBlank] = useState({ name: "", host: "localhost" });
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const createGenerated = useStore((s) => s.createGenerated);
  const createBlank = useStore((s) => s.createBlank);
  const createFromFile = useStore((s) => s.createFromFile);

  const create = async (): Promise<string | null> => {
    if (mode === "generate") {
      const result = generatorSpec(form);
      if ("error" in result) {
        setError(result.error);
        return null;
      }
      return createGenerated(result.spec);
    }
    if (mode === "blank") return createBlank(blank.name, blank.host);
    if (!file) {
      setError("choose a topology file (YAML) first");
      return null;
    }
    return createFromFile(await file.text());
  };

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    const name = await create();
    setBusy(false);
    if (name) {
      onClose();
      window.location.hash = routeHash({ page: "topology", name });
    } else {
      setError((prev) => prev ?? useStore.getState().notice?.text ?? "not created");
    }
  };

  return (
    <div className="modal-backdrop">
      <form className="modal wide" role="dialog" aria-label="New topology" onSubmit={(e) => void submit(e)} data-testid="create-dialog">
        <h2>New topology</h2>
        <div className="tabs" role="tablist">
          {(["generate", "blank", "upload"] as Mode[]).map((m) => (
            <button key={m} type="button" role="tab" aria-selected={mode === m} className={mode === m ? "tab active" : "tab"} onClick={() => setMode(m)} data-testid={`mode-${m}`}>
              {m === "generate" ? "Generate" : m === "blank" ? "Blank (DMZ + gateway)" : "Upload a file"}
            </button>
          ))}
        </div>
        {mode === "generate" && <GenerateForm form={form} setForm={setForm} />}
        {mode === "blank" && (
          <div className="form-grid">
            <label>
              name
              <input value={blank.name} onChange={(e) => setBlank({ ...blank, name: e.target.value })} data-testid="blank-name" />
            </label>
            <label>
              host
              <input value={blank.host} onChange={(e) => setBlank({ ...blank, host: e.target.value })} />
            </label>
          </div>
        )}
        {mode === "upload" && (
          <label className="upload">
            topology file (docs/topology-file.md)
            <input type="file" accept=".yml,.yaml,.json" onChange={(e) => setFile(e.target.files?.[0] ?? null)} data-testid="upload-file" />
          </label>
        )}
        {error && (
          <p className="notice notice-error" role="alert" data-testid="create-error">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="create-submit">
            {busy ? "Creating…" : "Create"}
          </button>
        </div>
      </form>
    </div>
  );
}
