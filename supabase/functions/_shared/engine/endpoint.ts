/**
 * The HTTP face of every function the job engine calls (the pipeline steps and `cleanup`):
 * POST only; the caller must present the project's secret key in `apikey` — checked with
 * `@supabase/server` in secret mode, since `verify_jwt` cannot check the new API keys (each
 * such function has `verify_jwt = false` in supabase/config.toml), so a user's JWT or the
 * publishable key gets 401; the body validated (400); then 202 at once — pg_net waits a few
 * seconds at most — and the work runs in `EdgeRuntime.waitUntil`.
 */
import { verifyAuth } from "@supabase/server/core";
import type { z } from "zod";

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

export interface EngineEndpoint<T> {
  /** Who may call it, for the 401 message ("step functions", "cleanup"). */
  name: string;
  body: z.ZodType<T>;
  /** Says what a valid body looks like, in the 400. */
  bodyHint: string;
  /** The background work; must not throw (it is logged and dropped if it does). */
  run(body: T): Promise<unknown>;
  /** The 202's body. */
  accepted(body: T): Record<string, unknown>;
}

export function engineEndpoint<T>(endpoint: EngineEndpoint<T>) {
  return async (req: Request): Promise<Response> => {
    if (req.method !== "POST") {
      return Response.json({ error: "method not allowed" }, { status: 405 });
    }
    const { error } = await verifyAuth(req, { auth: "secret" });
    if (error) {
      await req.body?.cancel();
      return Response.json({
        error: `${endpoint.name} are called by the job engine only (secret key in apikey)`,
        code: error.code,
      }, { status: error.status });
    }
    const parsed = endpoint.body.safeParse(await req.json().catch(() => null));
    if (!parsed.success) {
      return Response.json({ error: endpoint.bodyHint, issues: parsed.error.issues }, {
        status: 400,
      });
    }
    const work = endpoint.run(parsed.data).catch((e) =>
      console.error(JSON.stringify({ level: "error", msg: `${endpoint.name}: ${e}` }))
    );
    if (typeof EdgeRuntime !== "undefined") EdgeRuntime.waitUntil(work);
    return Response.json(endpoint.accepted(parsed.data), { status: 202 });
  };
}
