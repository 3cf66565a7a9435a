/** Reading uploaded media from the private bucket, with the failures users can act on. */
import type { Client } from "../engine/supabase_client.ts";
import { StepError } from "../engine/failure.ts";
import { MEDIA_BUCKET } from "../engine/supabase_client.ts";

/** Paths a job may read: inside its owner's folder, no traversal. */
export function assertOwnPath(ownerId: string, path: string): void {
  if (!path.startsWith(`${ownerId}/`) || path.split("/").some((p) => p === ".." || p === "")) {
    throw new StepError("media_outside_folder", `path ${path} is outside ${ownerId}/`);
  }
}

export async function downloadMedia(supabase: Client, path: string): Promise<Blob> {
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

/** How much of a file's start is read to recognise it (an ID3 tag with cover art included). */
export const HEAD_BYTES = 64 * 1024;

/** A short-lived URL a step reads a Storage object through, by HTTP Range. */
export async function signedMediaUrl(supabase: Client, path: string): Promise<string> {
  const { data, error } = await supabase.storage.from(MEDIA_BUCKET).createSignedUrl(path, 900);
  if (error || !data?.signedUrl) {
    const status = (error as { status?: number } | null)?.status ??
      Number((error as { statusCode?: string } | null)?.statusCode);
    if (status === 404 || status === 400) {
      throw new StepError("unreadable_media", `media ${path} is missing: ${error?.message}`);
    }
    throw new StepError("network_error", `signing ${path} failed: ${error?.message}`, true);
  }
  return data.signedUrl;
}

/**
 * Short-lived URLs for many objects in one request, in the order of `paths`. Objects that do
 * not exist fail the step with their names (unreadable_media).
 */
export async function signedMediaUrls(supabase: Client, paths: string[]): Promise<string[]> {
  const { data, error } = await supabase.storage.from(MEDIA_BUCKET).createSignedUrls(paths, 900);
  if (error || !data) {
    throw new StepError(
      "network_error",
      `signing ${paths.length} URLs failed: ${error?.message}`,
      true,
    );
  }
  const byPath = new Map(data.map((d) => [d.path, d.signedUrl] as const));
  const missing = paths.filter((p) => !byPath.get(p));
  if (missing.length) {
    throw new StepError("unreadable_media", `manifest chunks missing: ${missing.join(", ")}`);
  }
  return paths.map((p) => byPath.get(p)!);
}

/** Bytes `from`..`to` (inclusive, clamped to the object) and the object's total size. */
export async function readRange(
  url: string,
  from: number,
  to: number,
): Promise<{ bytes: Uint8Array; size: number }> {
  const res = await fetch(url, { headers: { Range: `bytes=${from}-${to}` } });
  if (res.status === 416) {
    await res.body?.cancel();
    return { bytes: new Uint8Array(), size: from };
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new StepError(
      res.status >= 500 ? "network_error" : "unreadable_media",
      `reading bytes ${from}-${to}: HTTP ${res.status}`,
      res.status >= 500,
    );
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const total = Number(res.headers.get("content-range")?.split("/")[1]);
  return { bytes, size: Number.isFinite(total) ? total : bytes.length };
}

/**
 * Bytes `from`..`to` (inclusive) of the object at `url`, handed to `onPiece` as they arrive, so
 * a window larger than the memory a step may use is never held whole. Returns the bytes read.
 */
export async function streamRange(
  url: string,
  from: number,
  to: number,
  onPiece: (piece: Uint8Array) => void,
): Promise<number> {
  const res = await fetch(url, { headers: { Range: `bytes=${from}-${to}` } });
  if (res.status === 416) {
    await res.body?.cancel();
    return 0;
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new StepError(
      res.status >= 500 ? "network_error" : "unreadable_media",
      `reading bytes ${from}-${to}: HTTP ${res.status}`,
      res.status >= 500,
    );
  }
  let read = 0;
  try {
    // Into one reused buffer (a BYOB read), so a long window leaves no garbage behind: the
    // memory a function may use counts array buffers not yet collected too.
    const reader = res.body.getReader({ mode: "byob" });
    let buffer = new ArrayBuffer(1 << 20);
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (done || !value) break;
      read += value.length;
      onPiece(value);
      buffer = value.buffer;
    }
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError("network_error", `reading bytes ${from}-${to}: ${e}`, true);
  }
  return read;
}
