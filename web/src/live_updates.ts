/**
 * Live job changes through Realtime: private broadcast channels `user:<uid>:jobs` (the owner's
 * jobs) and `job:<id>` (one shared job), fed by Broadcast from Database (080_realtime.sql).
 * While a channel is subscribed the page never polls; when it drops, the caller is told so it
 * can show the stale banner, and told again on reconnect so it can re-sync.
 */
import type { RealtimeChannel } from "@supabase/supabase-js";
import { z } from "zod";
import { JobRow } from "./jobs.ts";
import { supabase } from "./supabase.ts";

/** A job change: the row after it (null when the row was deleted) and before it. */
export interface JobChange {
  operation: "INSERT" | "UPDATE" | "DELETE";
  record: JobRow | null;
  old: { id: string } | null;
}

const Payload = z.object({
  operation: z.enum(["INSERT", "UPDATE", "DELETE"]),
  record: z.unknown().nullable(),
  old_record: z.object({ id: z.string() }).passthrough().nullable(),
});

export interface LiveHandlers {
  change: (change: JobChange) => void;
  /** `true` once subscribed (again); `false` when the connection is lost. */
  connection: (connected: boolean) => void;
}

/** Subscribes to a private topic; returns a function that leaves it. */
export async function subscribeJobs(topic: string, on: LiveHandlers): Promise<() => void> {
  // Private channels are authorised with the user's JWT (RLS on realtime.messages).
  await supabase.realtime.setAuth();
  const channel: RealtimeChannel = supabase.channel(topic, { config: { private: true } })
    .on("broadcast", { event: "*" }, (message) => {
      const parsed = Payload.safeParse(message.payload);
      if (!parsed.success) return;
      const row = JobRow.safeParse(parsed.data.record);
      on.change({
        operation: parsed.data.operation,
        record: row.success ? row.data : null,
        old: parsed.data.old_record,
      });
    })
    .subscribe((status) => on.connection(status === "SUBSCRIBED"));
  return () => void supabase.removeChannel(channel);
}
