/**
 * The stack's one long-running process (started in the background by `deno task stack start`):
 * the API gateway on one port (rest, auth, storage, realtime, functions, web/dist), the pg_net
 * worker, the Edge Function processes and the offline transcription server.
 */
import postgres from "postgres";
import { stackConfig } from "./config.ts";
import { loadKeyRing } from "./keys.ts";
import { dbUrl } from "./postgres.ts";
import { SUPERUSER } from "./hosted_roles.ts";
import { handleAuth } from "./gateway/auth.ts";
import type { GatewayContext } from "./gateway/context.ts";
import { createFunctionsRuntime } from "./gateway/functions.ts";
import { corsHeaders, HttpError, json, withCors } from "./gateway/http.ts";
import { createRealtime } from "./gateway/realtime.ts";
import { handleRest } from "./gateway/rest.ts";
import { serveStatic, stackAppConfig } from "./gateway/static.ts";
import { createStorage } from "./gateway/storage.ts";
import { startNetWorker } from "./net_worker.ts";
import { startAsr } from "./asr.ts";
import { rememberClientAddress } from "./gateway/rate_limit.ts";

const config = stackConfig();
const keys = await loadKeyRing(config);
const quiet = () => {};
const ctx: GatewayContext = {
  config,
  keys,
  // The services' own connection (Auth, Storage, Realtime, pg_net's worker) is the superuser's,
  // never the project's postgres role.
  admin: postgres(dbUrl(config, SUPERUSER), { max: 10, onnotice: quiet }),
  api: postgres(dbUrl(config, "authenticator"), { max: 60, onnotice: quiet }),
};

const netWorker = await startNetWorker(ctx);
const realtime = await createRealtime(ctx);
const storage = createStorage(ctx);
const functions = await createFunctionsRuntime(ctx);
const asr = startAsr(config);
const appConfig = stackAppConfig(keys.keys.publishableKey);

async function route(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname;
  if (req.method === "OPTIONS" && !path.startsWith("/functions/v1/")) {
    return new Response("ok", { headers: corsHeaders });
  }
  if (path === "/health") return json({ ok: true });
  if (path.startsWith("/rest/v1/")) {
    return await handleRest(req, ctx, path.slice("/rest/v1".length));
  }
  if (path.startsWith("/auth/v1/")) {
    return await handleAuth(req, ctx, path.slice("/auth/v1".length));
  }
  if (path.startsWith("/storage/v1/")) {
    return await storage.handle(req, path.slice("/storage/v1".length));
  }
  if (path.startsWith("/realtime/v1/")) return await realtime.handle(req);
  if (path.startsWith("/functions/v1/")) {
    return await functions.handle(req, path.slice("/functions/v1/".length));
  }
  return await serveStatic(req, config.root, appConfig);
}

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: config.apiPort,
  onListen: () => console.log(JSON.stringify({ msg: "gateway listening", port: config.apiPort })),
}, async (req, info) => {
  rememberClientAddress(req, info.remoteAddr);
  try {
    const res = await route(req);
    return res.status === 101 ? res : withCors(res);
  } catch (e) {
    if (e instanceof HttpError) return json(e.body, e.status);
    console.error(
      JSON.stringify({ msg: "gateway error", path: new URL(req.url).pathname, error: String(e) }),
    );
    return json({ message: "internal error in the local stack", error: String(e) }, 500);
  }
});

async function shutdown() {
  await Promise.allSettled([
    functions.close(),
    realtime.close(),
    storage.close(),
    netWorker.close(),
    asr.close(),
    server.shutdown(),
  ]);
  await Promise.allSettled([ctx.admin.end({ timeout: 1 }), ctx.api.end({ timeout: 1 })]);
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);
