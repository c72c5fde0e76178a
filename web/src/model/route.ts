// The editor's two pages, in the URL fragment: `#/` (the list) and `#/t/NAME` (one topology).
// `#login=CODE` is the sign-in link, consumed at start (store/session.ts).
export type Route = { page: "list" } | { page: "topology"; name: string };

export function parseRoute(hash: string): Route {
  const match = /^#\/t\/([a-z][a-z0-9-]{0,62})$/.exec(hash);
  return match?.[1] ? { page: "topology", name: match[1] } : { page: "list" };
}

export const routeHash = (route: Route): string => (route.page === "topology" ? `#/t/${route.name}` : "#/");
