// The inspector's shared parts: a field that commits on Enter or blur, and the issues placed
// on the inspected element.
import { useState } from "react";
import { tooltip } from "../model/issues";
import type { EditorView } from "../store/view";

/** A text field that sends its value on Enter or when it loses focus (not on every key). */
export function Field(props: { label: string; value: string; disabled: boolean; why?: string; onCommit(v: string): void; testid?: string; placeholder?: string }) {
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? props.value;
  const commit = (): void => {
    if (text !== null && text !== props.value) props.onCommit(text.trim());
    setText(null);
  };
  return (
    <label title={props.disabled ? props.why : undefined}>
      {props.label}
      <input
        value={shown}
        disabled={props.disabled}
        placeholder={props.placeholder}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") setText(null);
        }}
        data-testid={props.testid}
      />
    </label>
  );
}

export function Issues({ view, keyName }: { view: EditorView; keyName: string }) {
  const placed = view.issues.get(keyName) ?? [];
  if (!placed.length) return null;
  return (
    <ul className="inline-issues" title={tooltip(placed)}>
      {placed.map(({ issue }, i) => (
        <li key={i} className={`sev-${issue.severity ?? "error"}`}>
          <b>{issue.code}</b> {issue.message}
        </li>
      ))}
    </ul>
  );
}
