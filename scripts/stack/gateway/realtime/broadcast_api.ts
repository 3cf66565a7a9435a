/**
 * Realtime's REST broadcast: `POST /api/broadcast` with `{messages: [{topic, event, payload,
 * private}]}` (what realtime-js `send` falls back to when not subscribed) and
 * `POST /api/broadcast/<topic>/events/<event>[?private=true]` with the payload as the body
 * (`httpSend`). Both answer 202; private messages the caller may not write are dropped, as
 * Supabase Realtime drops them.
 */
import { z } from "zod";
import type { GatewayContext } from "../context.ts";
import { HttpError } from "../http.ts";
import { authenticate, type Caller } from "../request_role.ts";
import { probeTopicAccess } from "./authorization.ts";
import type { Hub } from "./hub.ts";

const BatchBody = z.object({
  messages: z.array(z.object({
    topic: z.string().min(1),
    event: z.string().min(1),
    payload: z.unknown().optional(),
    private: z.boolean().optional(),
  })),
});

const errorShape = (message: string) => ({ message });

export async function handleBroadcastApi(
  ctx: GatewayContext,
  hub: Hub,
  req: Request,
  path: string,
): Promise<Response> {
  if (req.method !== "POST") throw new HttpError(405, { message: "method not allowed" });
  const caller = await authenticate(ctx, req, errorShape);
  if (path === "") {
    const parsed = BatchBody.safeParse(await req.json().catch(() => null));
    if (!parsed.success) throw new HttpError(400, { message: z.prettifyError(parsed.error) });
    const mayWrite = writeCheck(ctx, caller);
    for (const m of parsed.data.messages) {
      if (m.private && !(await mayWrite(m.topic))) continue;
      hub.broadcast(m.topic, m.private === true, { event: m.event, payload: m.payload ?? {} });
    }
    return new Response(null, { status: 202 });
  }
  const single = path.match(/^\/([^/]+)\/events\/([^/]+)$/);
  if (!single) throw new HttpError(404, { message: "not found" });
  const [topic, event] = [decodeURIComponent(single[1]), decodeURIComponent(single[2])];
  const isPrivate = new URL(req.url).searchParams.get("private") === "true";
  const binary = req.headers.get("content-type")?.startsWith("application/octet-stream");
  const payload = binary ? new Uint8Array(await req.arrayBuffer()) : await req.json().catch(() => {
    throw new HttpError(400, { message: "body is not JSON" });
  });
  if (isPrivate && !(await writeCheck(ctx, caller)(topic))) {
    throw new HttpError(403, {
      error: `You do not have permissions to write to this Channel topic: ${topic}`,
    });
  }
  hub.broadcast(topic, isPrivate, { event, payload });
  return new Response(null, { status: 202 });
}

/** Write permission per topic, probed once per request. */
function writeCheck(ctx: GatewayContext, caller: Caller): (topic: string) => Promise<boolean> {
  const verdicts = new Map<string, Promise<boolean>>();
  return (topic) => {
    let verdict = verdicts.get(topic);
    if (!verdict) {
      verdicts.set(topic, verdict = probeTopicAccess(ctx, caller, topic).then((a) => a.write));
    }
    return verdict;
  };
}
