/** Minimal path helpers (deno std is not reachable from this machine). */
export function join(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}

export function fromFileUrl(url: URL): string {
  return decodeURIComponent(url.pathname);
}

export function dirname(path: string): string {
  const i = path.replace(/\/$/, "").lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}
