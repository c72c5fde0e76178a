import { useState } from "react";
import type { ConfigParam, Decky, TopologyView } from "../api/types";
import * as build from "../model/builders";
import { serviceKey } from "../model/elementKey";
import { portsLabel } from "../model/serviceKinds";
import { useStore } from "../store";
import type { EditorView } from "../store/view";

interface Props {
  decky: Decky;
  service: string;
  t: TopologyView;
  view: EditorView;
  open?: boolean;
}

/** One setting, typed by the catalogue's schema. A secret is a password input that starts
 * empty: the API only ever returns it masked, and the editor never shows or echoes it. */
function Param({ p, current, disabled, onSet }: { p: ConfigParam; current: unknown; disabled: boolean; onSet(text: string): void }) {
  const [text, setText] = useState<string | null>(null);
  const isSet = current !== undefined && current !== null;
  const commit = (): void => {
    const value = build.fieldCommit(p, text);
    if (value !== null) onSet(value);
    setText(null);
  };
  if (p.type === "bool") {
    const value = isSet ? current === true : p.default === true;
    return (
      <label className="check" title={p.description}>
        <input type="checkbox" checked={value} disabled={disabled} onChange={(e) => onSet(String(e.target.checked))} />
        {p.key}
      </label>
    );
  }
  const placeholder = p.secret ? (isSet ? "•••••• (set; type to replace)" : "(not set)") : p.default != null ? `default: ${String(p.default)}` : "";
  const shown = text ?? (p.secret || !isSet ? "" : String(current));
  return (
    <label title={p.description}>
      {p.key}
      {p.secret && <small> secret</small>}
      <input
        type={p.secret ? "password" : p.type === "int" ? "number" : "text"}
        autoComplete={p.secret ? "new-password" : "off"}
        value={shown}
        placeholder={placeholder}
        disabled={disabled}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === "Enter" && commit()}
        data-testid={`config-${p.key}`}
      />
      {p.secret && isSet && !disabled && (
        <button type="button" className="link" onClick={() => onSet("")} data-testid={`config-clear-${p.key}`}>
          clear
        </button>
      )}
    </label>
  );
}

export function ServiceConfig({ decky, service, t, view, open }: Props) {
  const catalog = useStore((s) => s.catalog);
  const edit = useStore((s) => s.edit);
  const setNotice = useStore((s) => s.setNotice);
  const spec = catalog?.services[service];
  const issues = view.issues.get(serviceKey(decky.name, service)) ?? [];
  const values = decky.service_config?.[service] ?? {};
  const ro = !view.editable;
  const set = (key: string, text: string): void => {
    if (!catalog) return;
    const parsed = build.parseConfigValue(catalog, service, key, text);
    if ("error" in parsed) setNotice({ kind: "error", text: parsed.error });
    else void edit(build.setConfig(t, decky.name, service, key, parsed.value));
  };
  return (
    <details className={issues.length ? "service has-issues" : "service"} open={open} data-testid={`service-${service}`}>
      <summary>
        {service} <small>{spec ? portsLabel(spec) : "not in the catalogue"}</small>
        {!ro && (
          <button type="button" className="link" onClick={() => void edit(build.removeService(t, decky.name, service))}>
            remove
          </button>
        )}
      </summary>
      {issues.map(({ issue }, i) => (
        <p key={i} className="inline-issues">
          <b>{issue.code}</b> {issue.message}
        </p>
      ))}
      {(spec?.params ?? []).map((p) => (
        <Param key={p.key} p={p} current={values[p.key]} disabled={ro} onSet={(text) => set(p.key, text)} />
      ))}
    </details>
  );
}
