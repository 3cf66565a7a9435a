/**
 * Retention and deletion: a job's storage objects are removed through the Storage API (never
 * by deleting storage rows in SQL), and only then are its rows purged. SQL decides what may go
 * (`cleanup_targets`: the job's folder unless another live job still uses it, plus referenced
 * paths outside it) and owns the purge (`purge_jobs`). A job whose objects could not all be
 * removed keeps its rows, so the hourly `expire_jobs` hands it over again: the run is
 * idempotent and retried until it succeeds.
 */
import type { Client } from "../_shared/engine/supabase_client.ts";
import { z } from "zod";
import { type Logger, logger } from "../_shared/engine/log.ts";
import { engineEndpoint } from "../_shared/engine/endpoint.ts";
import { serviceClient } from "../_shared/engine/supabase_client.ts";
import { OrphanCleanupBody, removeOrphanUploads } from "./orphan_uploads.ts";

/** What `private.request_cleanup` posts (hourly batches, or one job from `delete_job`). */
export const CleanupBody = z.object({
  job_ids: z.array(z.uuid()).min(1).max(1000),
});
export type CleanupBody = z.infer<typeof CleanupBody>;

/** One row of `cleanup_targets(job_ids)`. */
export const CleanupTarget = z.object({
  job_id: z.uuid(),
  bucket: z.string().min(1),
  prefix: z.string().min(1).nullable(),
  paths: z.array(z.string().min(1)).default([]),
});
export type CleanupTarget = z.infer<typeof CleanupTarget>;

export interface CleanupReport {
  /** Jobs whose objects are gone and whose rows were purged. */
  purged: number;
  /** Storage objects removed. */
  removed: number;
  /** Jobs kept for the next run because their objects could not be removed. */
  failed: { job_id: string; error: string }[];
}

/** Storage answers at most this many names per list page and per remove call. */
const PAGE = 1000;

/** Every object name under `prefix` (a folder ending in "/"), walking sub-folders. */
export async function listObjectsUnder(
  supabase: Client,
  bucket: string,
  prefix: string,
): Promise<string[]> {
  const names: string[] = [];
  const folders = [prefix.replace(/\/+$/, "")];
  while (folders.length) {
    const folder = folders.pop()!;
    for (let offset = 0;; offset += PAGE) {
      const { data, error } = await supabase.storage.from(bucket).list(folder, {
        limit: PAGE,
        offset,
        sortBy: { column: "name", order: "asc" },
      });
      if (error) throw new Error(`listing ${bucket}/${folder}: ${error.message}`);
      for (const entry of data ?? []) {
        // Storage lists a sub-folder as an entry without an id.
        if (entry.id === null) folders.push(`${folder}/${entry.name}`);
        else names.push(`${folder}/${entry.name}`);
      }
      if ((data ?? []).length < PAGE) break;
    }
  }
  return names;
}

async function removeTarget(supabase: Client, target: CleanupTarget): Promise<number> {
  const names = new Set(target.paths);
  if (target.prefix) {
    for (const name of await listObjectsUnder(supabase, target.bucket, target.prefix)) {
      names.add(name);
    }
  }
  const all = [...names];
  let removed = 0;
  for (let i = 0; i < all.length; i += PAGE) {
    const { data, error } = await supabase.storage.from(target.bucket).remove(
      all.slice(i, i + PAGE),
    );
    if (error) throw new Error(`removing from ${target.bucket}: ${error.message}`);
    removed += data?.length ?? 0;
  }
  // Removing a name that is already gone is not an error (idempotent), but anything still
  // listed under the folder afterwards is: its rows must stay for the next run.
  if (target.prefix) {
    const left = await listObjectsUnder(supabase, target.bucket, target.prefix);
    if (left.length) throw new Error(`${left.length} objects still under ${target.prefix}`);
  }
  return removed;
}

/** Removes the storage objects of `jobIds`, then purges the rows of those whose objects are gone. */
export async function cleanupJobs(
  supabase: Client,
  jobIds: string[],
  log: Logger = logger({ step: "cleanup" }),
): Promise<CleanupReport> {
  const { data, error } = await supabase.rpc("cleanup_targets", { job_ids: jobIds });
  if (error) throw new Error(`cleanup_targets: ${error.message}`);
  const targets = z.array(CleanupTarget).parse(data);
  const report: CleanupReport = { purged: 0, removed: 0, failed: [] };
  const cleared: string[] = [];
  for (const target of targets) {
    try {
      report.removed += await removeTarget(supabase, target);
      cleared.push(target.job_id);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      report.failed.push({ job_id: target.job_id, error: message });
      log.error("storage cleanup failed; rows kept for the next run", {
        job_id: target.job_id,
        error: message,
      });
    }
  }
  if (cleared.length) {
    const purged = await supabase.rpc("purge_jobs", { job_ids: cleared });
    if (purged.error) throw new Error(`purge_jobs: ${purged.error.message}`);
    report.purged = z.number().int().parse(purged.data);
  }
  log.info("cleanup done", {
    asked: jobIds.length,
    targets: targets.length,
    purged: report.purged,
    removed: report.removed,
    failed: report.failed.length,
  });
  return report;
}

/** The HTTP face of `cleanup`: the engine's secret key only, body validated, 202 at once. */
export function cleanupHandler(
  supabase: () => Client = serviceClient,
): (req: Request) => Promise<Response> {
  return engineEndpoint({
    name: "cleanup",
    body: z.union([OrphanCleanupBody, CleanupBody]),
    bodyHint: "body must be {job_ids: [uuid, ...]} or {orphan_uploads: true}",
    run: (body) => {
      if ("orphan_uploads" in body) {
        const log = logger({ step: "cleanup", task: "orphan_uploads" });
        return removeOrphanUploads(supabase(), log).catch((e) =>
          log.error("orphan cleanup failed; the hourly run will retry", { error: String(e) })
        );
      }
      const log = logger({ step: "cleanup", job_ids: body.job_ids });
      return cleanupJobs(supabase(), body.job_ids, log).catch((e) =>
        log.error("cleanup failed; the hourly run will retry", { error: String(e) })
      );
    },
    accepted: (body) =>
      "orphan_uploads" in body
        ? { accepted: true, orphan_uploads: true }
        : { accepted: true, jobs: body.job_ids.length },
  });
}
