import { type FormEvent, useState } from "react";
import { ApiError } from "../api/errors";
import { defaultGeneratorForm, formField, GENERATOR_FIELDS, type GeneratorForm, generatorSpec } from "../model/forms";
import { routeHash } from "../model/route";
import { useStore } from "../store";

type Mode = "generate" | "blank" | "upload";

/** A field error: which generator field, and what is wrong with it. */
interface FieldError {
  field: keyof GeneratorForm;
  error: string;
}

function GenerateForm({ form, setForm, wrong }: { form: GeneratorForm; setForm(f: GeneratorForm): void; wrong: FieldError | null }) {
  return (
    <div className="form-grid">
      {GENERATOR_FIELDS.map((f) => {
        const error = wrong?.field === f.key ? wrong.error : null;
        return (
          <label key={f.key} className={error ? "field invalid" : "field"}>
            {f.label}
            <input
              type={f.number ? "number" : "text"}
              min={f.number?.min}
              max={f.number?.max}
              step={f.number?.step}
              value={form[f.key]}
              placeholder={f.placeholder}
              aria-invalid={error !== null}
              onChange={(e) => setForm({ ...form, [f.key]: e.target.value })}
              data-testid={`gen-${f.key}`}
            />
            {error ? (
              <small className="field-error" role="alert" data-testid={`gen-error-${f.key}`}>
                {error}
              </small>
            ) : (
              <small className="field-help">{f.help}</small>
            )}
          </label>
        );
      })}
    </div>
  );
}

export function CreateDialog({ onClose }: { onClose(): void }) {
  const [mode, setMode] = useState<Mode>("generate");
  const [form, setForm] = useState<GeneratorForm>(defaultGeneratorForm);
  const [blank, setBlank] = useState({ name: "", host: "localhost" });
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [wrong, setWrong] = useState<FieldError | null>(null);
  const [busy, setBusy] = useState(false);
  const generate = useStore((s) => s.generate);
  const createBlank = useStore((s) => s.createBlank);
  const createFromFile = useStore((s) => s.createFromFile);

  const create = async (): Promise<string | null> => {
    if (mode === "generate") {
      const result = generatorSpec(form);
      if ("error" in result) {
        setWrong(result);
        return null;
      }
      const made = await generate(result.spec);
      const field = made instanceof ApiError ? formField(made.field) : null;
      if (made instanceof ApiError && field) setWrong({ field, error: made.message });
      else if (made instanceof ApiError) setError(made.message);
      return typeof made === "string" ? made : null;
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
    setWrong(null);
    setBusy(true);
    const name = await create();
    setBusy(false);
    if (name) {
      onClose();
      window.location.hash = routeHash({ page: "topology", name });
    } else if (mode !== "generate") {
      setError((prev) => prev ?? useStore.getState().notice?.text ?? "not created");
    }
  };

  return (
    <div className="modal-backdrop">
      <form className="modal wide" role="dialog" aria-label="New topology" onSubmit={(e) => void submit(e)} noValidate data-testid="create-dialog">
        <h2>New topology</h2>
        <div className="tabs" role="tablist">
          {(["generate", "blank", "upload"] as Mode[]).map((m) => (
            <button key={m} type="button" role="tab" aria-selected={mode === m} className={mode === m ? "tab active" : "tab"} onClick={() => setMode(m)} data-testid={`mode-${m}`}>
              {m === "generate" ? "Generate" : m === "blank" ? "Blank (DMZ + gateway)" : "Upload a file"}
            </button>
          ))}
        </div>
        {mode === "generate" && <GenerateForm form={form} setForm={setForm} wrong={wrong} />}
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
