/** Reading uploaded media from the private bucket, with the failures users can act on. */
import type { SupabaseClient } from "@supabase/supabase-js";
import { StepError } from "../failure.ts";
import { MEDIA_BUCKET } from "../supabase_client.ts";

/** Paths a job may read: inside its owner's folder, no traversal. */
export function assertOwnPath(ownerId: string, path: string): void {
  if (!path.startsWith(`${ownerId}/`) || path.split("/").some((p) => p === ".." || p === "")) {
    throw new StepError("media_outside_folder", `path ${path} is outside ${ownerId}/`);
  }
}

export async function downloadMedia(supabase: SupabaseClient, path: string): Promise<Blob> {
  const { data, error } = await supabase.storage.from(MEDIA_BUCKET).download(path);
  if (error || !data) {
    const status = (error as { status?: number; statusCode?: string } | null)?.status ??
      Number((error as { statusCode?: string } | null)?.statusCode);
    if (status === 404 || status === 400) {
      throw new StepError("unreadable_media", `media ${path} is missing: ${error?.message}`);
    }
    throw new StepError("network_error", `downloading ${path} failed: ${error?.message}`, true);
  }
  return data;
}
