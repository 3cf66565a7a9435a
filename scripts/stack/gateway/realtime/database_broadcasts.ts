/**
 * Broadcast from the database: realtime.send() and realtime.broadcast_changes() insert into
 * realtime.messages, whose trigger NOTIFYs 'stack_realtime' with the row id at commit (a rolled
 * back send is never announced). Ids are fetched in batches and delivered in commit order.
 * Like Supabase, messages are kept only briefly: old rows are deleted every minute.
 */
import type { GatewayContext } from "../context.ts";
import type { Hub } from "./hub.ts";

const RETENTION = "10 minutes";
const CLEANUP_EVERY_MS = 60_000;

interface MessageRow {
  id: string;
  topic: string;
  event: string | null;
  payload: unknown;
  private: boolean | null;
  extension: string;
}

export async function listenForDatabaseBroadcasts(
  ctx: GatewayContext,
  hub: Hub,
): Promise<{ close(): Promise<void> }> {
  const pending: string[] = [];
  let pumping: Promise<void> | null = null;

  async function pump() {
    while (pending.length > 0) {
      const ids = pending.splice(0, pending.length);
      try {
        const rows = await ctx.admin<MessageRow[]>`
          select id, topic, event, payload, private, extension from realtime.messages
          where id = any(${ids}::uuid[])`;
        const byId = new Map(rows.map((r) => [r.id, r]));
        for (const id of ids) {
          const row = byId.get(id);
          if (row && row.extension === "broadcast") deliver(row);
        }
      } catch (e) {
        console.error(
          JSON.stringify({ msg: "realtime: fetching messages failed", error: String(e) }),
        );
      }
    }
    pumping = null;
  }

  function deliver(row: MessageRow) {
    // Supabase adds the message id to an object payload that has none of its own.
    const payload = isObject(row.payload) && !("id" in row.payload)
      ? { ...row.payload, id: row.id }
      : row.payload;
    hub.broadcast(row.topic, row.private === true, { event: row.event ?? "", payload });
  }

  const listener = await ctx.admin.listen("stack_realtime", (id) => {
    pending.push(id);
    pumping ??= pump();
  });

  const cleanup = setInterval(() => {
    ctx.admin`delete from realtime.messages where inserted_at < now() - ${RETENTION}::interval`
      .catch((e) =>
        console.error(JSON.stringify({ msg: "realtime: cleanup failed", error: String(e) }))
      );
  }, CLEANUP_EVERY_MS);

  return {
    async close() {
      clearInterval(cleanup);
      await listener.unlisten().catch(() => {});
      await pumping;
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
