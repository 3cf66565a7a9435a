/**
 * /realtime/v1: Supabase Realtime as far as this product uses it — the Phoenix websocket
 * (vsn 1.0.0 and 2.0.0) with Broadcast, Presence and private channels authorised by RLS on
 * realtime.messages, Broadcast from the database, and the REST broadcast endpoints.
 * postgres_changes subscriptions are acknowledged but never deliver (the product does not use
 * them). Pieces live in ./realtime/.
 */
import type { GatewayContext } from "./context.ts";
import { json } from "./http.ts";
import { handleBroadcastApi } from "./realtime/broadcast_api.ts";
import { listenForDatabaseBroadcasts } from "./realtime/database_broadcasts.ts";
import { FrameError, parseVsn, type Vsn } from "./realtime/frames.ts";
import { Hub } from "./realtime/hub.ts";
import { PhoenixSession } from "./realtime/session.ts";
import { callerFromApiKey } from "./realtime/tokens.ts";

export interface RealtimeService {
  handle(req: Request): Response | Promise<Response>;
  close(): Promise<void>;
}

const PREFIX = "/realtime/v1";

export async function createRealtime(ctx: GatewayContext): Promise<RealtimeService> {
  const hub = new Hub();
  const sessions = new Set<PhoenixSession>();
  const database = await listenForDatabaseBroadcasts(ctx, hub);

  function openSocket(req: Request): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return json({ message: "expected a websocket upgrade" }, 400);
    }
    const url = new URL(req.url);
    let vsn: Vsn;
    try {
      vsn = parseVsn(url.searchParams.get("vsn"));
    } catch (e) {
      if (e instanceof FrameError) return json({ message: e.message }, 400);
      throw e;
    }
    const apikey = url.searchParams.get("apikey") ?? req.headers.get("apikey");
    if (!apikey) return json({ message: "No API key found in request" }, 401);
    // The gateway's check: one of the project's API keys (a user's JWT is no API key).
    const check = callerFromApiKey(ctx, apikey);
    if ("error" in check) return json({ message: check.error }, 401);
    const { socket, response } = Deno.upgradeWebSocket(req);
    const session = new PhoenixSession(ctx, hub, socket, vsn, check.caller);
    sessions.add(session);
    socket.addEventListener("close", () => sessions.delete(session));
    return response;
  }

  return {
    handle(req) {
      const path = new URL(req.url).pathname.slice(PREFIX.length);
      if (path === "/websocket" || path === "/websocket/") return openSocket(req);
      if (path === "/api/broadcast" || path.startsWith("/api/broadcast/")) {
        return handleBroadcastApi(ctx, hub, req, path.slice("/api/broadcast".length));
      }
      return json({ message: "not found" }, 404);
    },
    async close() {
      for (const session of sessions) session.close();
      sessions.clear();
      hub.close();
      await database.close();
    },
  };
}
