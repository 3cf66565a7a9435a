/**
 * One Storage object uploaded with TUS (Supabase's /storage/v1/upload/resumable): 6 MB chunks as
 * Supabase requires, retries with back-off after a dropped connection (tus-js-client asks the
 * server for its offset and continues from there), pause and resume, cancel.
 */
import { DetailedError, type HttpRequest, Upload } from "tus-js-client";
import type { PauseGate } from "./pause_gate.ts";

/** Supabase Storage accepts TUS chunks of exactly this size (the last one may be shorter). */
export const TUS_CHUNK_BYTES = 6 * 1024 * 1024;
/** Waits between attempts after a failure; the offset is re-read before each. */
export const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10_000, 20_000];

export interface ResumableUpload {
  /** Base URL of the Supabase project, e.g. https://<ref>.supabase.co. */
  supabaseUrl: string;
  /** The user's current access token; asked before every request, so refreshes are picked up. */
  accessToken: () => Promise<string>;
  /** The project's publishable key, sent as `apikey` like every supabase-js request. */
  apiKey: string;
  bucket: string;
  path: string;
  blob: Blob;
  contentType: string;
  /** Bytes of this object on the server so far. */
  onProgress?: (bytesSent: number) => void;
  gate?: PauseGate;
  signal?: AbortSignal;
}

/** Resolves when the object is stored; rejects when retries run out or `signal` aborts. */
export function uploadResumable(o: ResumableUpload): Promise<void> {
  o.signal?.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      unsubscribe?.();
      o.signal?.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const upload = new Upload(o.blob, {
      endpoint: `${o.supabaseUrl.replace(/\/$/, "")}/storage/v1/upload/resumable`,
      chunkSize: TUS_CHUNK_BYTES,
      retryDelays: RETRY_DELAYS_MS,
      // Each object path is new per submission; there is nothing to resume across page loads.
      storeFingerprintForResuming: false,
      metadata: {
        bucketName: o.bucket,
        objectName: o.path,
        contentType: o.contentType,
        cacheControl: "3600",
      },
      async onBeforeRequest(req: HttpRequest) {
        req.setHeader("authorization", `Bearer ${await o.accessToken()}`);
        req.setHeader("apikey", o.apiKey);
        // Safe to overwrite: the path is this submission's own, and a retried finish may repeat.
        req.setHeader("x-upsert", "true");
      },
      onProgress: (sent) => o.onProgress?.(sent),
      onSuccess: () => settle(),
      onError: (error) => settle(uploadFailure(error)),
    });
    const onAbort = () => {
      // Terminate: the server drops the partial upload.
      void upload.abort(true).catch(() => {});
      settle(o.signal?.reason ?? new Error("aborted"));
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const unsubscribe = o.gate?.subscribe((paused) => {
      if (paused) void upload.abort(false);
      else upload.start();
    });
    if (!o.gate?.paused) upload.start();
  });
}

/** The user-facing form of a TUS failure (retries exhausted or refused by the server). */
function uploadFailure(error: Error): Error {
  const status = error instanceof DetailedError ? error.originalResponse?.getStatus() : undefined;
  const message = status && status >= 400 && status < 500
    ? `The server refused the upload (HTTP ${status}).`
    : "The upload was interrupted. Check your connection and try again.";
  return new Error(message, { cause: error });
}
