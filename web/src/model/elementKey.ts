// The one way an element of the canvas is named in the editor's state: `lan:NAME`,
// `decky:NAME`, `service:DECKY:SERVICE`. React Flow node ids, the selection, staged marks and
// placed issues all use these keys; every reader parses them here. Element names match
// [a-z][a-z0-9-]* (decnet/models.py NAME_RE), so `:` never occurs inside one.

export type ElementRef =
  | { kind: "lan"; name: string }
  | { kind: "decky"; name: string }
  | { kind: "service"; decky: string; service: string };

export type ElementKind = ElementRef["kind"];

export const lanKey = (name: string): string => `lan:${name}`;
export const deckyKey = (name: string): string => `decky:${name}`;
export const serviceKey = (decky: string, service: string): string => `service:${decky}:${service}`;

export function keyOf(ref: ElementRef): string {
  switch (ref.kind) {
    case "lan":
      return lanKey(ref.name);
    case "decky":
      return deckyKey(ref.name);
    case "service":
      return serviceKey(ref.decky, ref.service);
  }
}

const NAME = "[a-z][a-z0-9-]*";
const KEY = new RegExp(`^(?:(lan|decky):(${NAME})|service:(${NAME}):(${NAME}))$`);

/** The element a key names, or null for anything else (`topology`, a malformed id). */
export function parseKey(key: string | null | undefined): ElementRef | null {
  const m = key ? KEY.exec(key) : null;
  if (!m) return null;
  if (m[1] === "lan" && m[2]) return { kind: "lan", name: m[2] };
  if (m[1] === "decky" && m[2]) return { kind: "decky", name: m[2] };
  return m[3] && m[4] ? { kind: "service", decky: m[3], service: m[4] } : null;
}

/** The decky a key is about: the decky itself, or the decky a service chip belongs to. */
export function deckyOf(key: string | null | undefined): string | null {
  const ref = parseKey(key);
  if (ref?.kind === "decky") return ref.name;
  return ref?.kind === "service" ? ref.decky : null;
}

/** The name of a key of `kind` ("lan" or "decky"), or null when it is another kind. */
export function nameOf(key: string | null | undefined, kind: "lan" | "decky"): string | null {
  const ref = parseKey(key);
  return ref?.kind === kind ? ref.name : null;
}
