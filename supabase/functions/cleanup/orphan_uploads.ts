/**
 * Storage hygiene: uploads no job references (a tab closed between the upload and the insert,
 * a client that never submitted) are removed once older than `upload_grace` (24 h), through the
 * Storage API like every other removal. SQL decides what is an orphan (`orphan_uploads`, in
 * bounded batches); this module only removes what it lists. The hourly pg_cron job calls the
 * `cleanup` function with `{"orphan_uploads": true}` (private.request_orphan_cleanup).
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { z } from "zod";
import { type Logger, logger } from "../_shared/engine/log.ts";

/** What `private.request_orphan_cleanup` posts. */
export const OrphanCleanupBody = z.object({ orphan_uploads: z.literal(true) });

/** Storage removes at most this many names per call. */
const PAGE = 1000;

/** Removes the orphan uploads SQL lists; returns how many objects were removed. */
export async function removeOrphanUploads(
  supabase: SupabaseClient,
  log: Logger = logger({ step: "cleanup", task: "orphan_uploads" }),
): Promise<number> {
  const { data, error } = await supabase.rpc("orphan_uploads");
  if (error) throw new Error(`orphan_uploads: ${error.message}`);
  const names = z.array(z.string().min(1)).parse(data);
  let removed = 0;
  for (let i = 0; i < names.length; i += PAGE) {
    const page = await supabase.storage.from("media").remove(names.slice(i, i + PAGE));
    if (page.error) throw new Error(`removing orphan uploads: ${page.error.message}`);
    removed += page.data?.length ?? 0;
  }
  log.info("orphan uploads removed", { listed: names.length, removed });
  return removed;
}
