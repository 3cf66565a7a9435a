/**
 * `/`: the built web app (web/dist) as a plain static host serves it — files and folders'
 * index.html, no fallback for other paths — so what works here works on any static host. The
 * share links of earlier versions (`/jobs/<id>#token=…`) are redirected to `/?job=<id>` (the
 * browser keeps the fragment across the redirect).
 *
 * `/config.json`, which the app reads before it makes its Supabase client, is this stack's own
 * (its publishable key; no URL, so the page talks to the origin that served it), never a file:
 * one build in web/dist serves every stack of the checkout, and a build made for another one
 * (the test command's, the bench's) cannot change which project this page signs in to.
 */
import { join } from "node:path";

const types: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  wasm: "application/wasm",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  map: "application/json",
  webmanifest: "application/manifest+json",
};

/** The web app's run-time settings for a stack whose publishable key is `publishableKey`. */
export function stackAppConfig(publishableKey: string): string {
  return JSON.stringify({ publishableKey });
}

export async function serveStatic(
  req: Request,
  root: string,
  appConfig: string,
): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("not found", { status: 404 });
  }
  const dist = join(root, "web/dist");
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url).pathname);
  } catch {
    // "%" not followed by two hex digits, or bytes that are not UTF-8: a client error.
    return new Response("bad path: malformed percent-encoding", { status: 400 });
  }
  if (path === "/config.json") {
    const headers = { "content-type": "application/json", "cache-control": "no-cache" };
    return new Response(req.method === "HEAD" ? null : appConfig, { headers });
  }
  if (path.split("/").includes("..") || path.includes("\0")) {
    return new Response("bad path", { status: 400 });
  }
  const legacy = /^\/jobs\/([0-9a-f-]{36})\/?$/i.exec(path);
  if (legacy) {
    return new Response(null, { status: 302, headers: { location: `/?job=${legacy[1]}` } });
  }
  const candidates = [join(dist, path), join(dist, path, "index.html")];
  for (const file of candidates) {
    try {
      const stat = await Deno.stat(file);
      if (!stat.isFile) continue;
      const ext = file.split(".").pop() ?? "";
      const headers: Record<string, string> = {
        "content-type": types[ext] ?? "application/octet-stream",
        "content-length": String(stat.size),
        // Hashed assets never change; the page itself must always be fresh.
        "cache-control": file.includes("/assets/")
          ? "public, max-age=31536000, immutable"
          : "no-cache",
      };
      if (req.method === "HEAD") return new Response(null, { headers });
      return new Response((await Deno.open(file)).readable, { headers });
    } catch {
      continue;
    }
  }
  if (path === "/") {
    return new Response("web/dist is not built yet: run `deno task web:build`.\n", {
      status: 503,
      headers: { "content-type": "text/plain" },
    });
  }
  return new Response("not found", { status: 404 });
}
