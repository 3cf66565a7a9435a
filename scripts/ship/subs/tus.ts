/**
 * One local file uploaded to Supabase Storage's TUS endpoint (/storage/v1/upload/resumable)
 * with fetch: 6 MB PATCHes as Supabase requires, the server's offset re-read after a failure,
 * and an upload URL the caller keeps (onUrl), so a later process resumes where this one stopped
 * (`subs --resume`). The web app uses tus-js-client (web/src/media/tus_upload.ts); here the
 * protocol is spoken directly because the upload must continue across processes from a file
 * on disk, which that client's browser build cannot read and its Node build keys to its own
 * fingerprint store.
 */
import { RETRY_DELAYS_MS, TUS_CHUNK_BYTES } from "../../../web/src/media/tus_upload.ts";
import { CliError } from "./errors.ts";

export interface TusUpload {
  supabaseUrl: string;
  apiKey: string;
  accessToken: () => Promise<string>;
  bucket: string;
  objectName: string;
  contentType: string;
  file: string;
  bytes: number;
  /** A URL from an earlier run; its offset is asked for and the upload continues from there. */
  uploadUrl?: string;
  onUrl: (url: string) => void | Promise<void>;
  /** Bytes stored on the server so far; `resumedAt` on the first call of a resumed upload. */
  onProgress: (offset: number, resumedAt?: number) => void;
  signal?: AbortSignal;
}

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

class Retryable extends Error {}

async function headers(o: TusUpload): Promise<Record<string, string>> {
  return {
    "tus-resumable": "1.0.0",
    authorization: `Bearer ${await o.accessToken()}`,
    apikey: o.apiKey,
    "x-upsert": "true",
  };
}

async function check(response: Response, what: string): Promise<Response> {
  if (response.ok) return response;
  const text = await response.text().catch(() => "");
  if (response.status >= 500 || response.status === 429 || response.status === 409) {
    throw new Retryable(`${what}: HTTP ${response.status}`);
  }
  let message = `The server refused the upload (HTTP ${response.status}).`;
  try {
    const body = JSON.parse(text);
    if (body.message) message = `The server refused the upload: ${body.message}`;
  } catch { /* not JSON */ }
  throw new CliError("upload_refused", message);
}

/** The server's offset of an upload URL, or null when the server no longer knows it. */
async function serverOffset(o: TusUpload, url: string): Promise<number | null> {
  const response = await fetch(url, {
    method: "HEAD",
    headers: await headers(o),
    signal: o.signal,
  });
  await response.body?.cancel();
  if (response.status === 404 || response.status === 410 || response.status === 403) return null;
  await check(response, "HEAD");
  return Number(response.headers.get("upload-offset") ?? 0);
}

async function create(o: TusUpload): Promise<string> {
  const endpoint = `${o.supabaseUrl}/storage/v1/upload/resumable`;
  const response = await check(
    await fetch(endpoint, {
      method: "POST",
      headers: {
        ...await headers(o),
        "upload-length": String(o.bytes),
        "upload-metadata": [
          `bucketName ${b64(o.bucket)}`,
          `objectName ${b64(o.objectName)}`,
          `contentType ${b64(o.contentType)}`,
          `cacheControl ${b64("3600")}`,
        ].join(","),
      },
      signal: o.signal,
    }),
    "POST",
  );
  await response.body?.cancel();
  const location = response.headers.get("location");
  if (!location) throw new Retryable("POST: no Location");
  const url = new URL(location, endpoint).href;
  await o.onUrl(url);
  return url;
}

/** Resolves when the object is stored; rejects with a CliError when retries run out. */
export async function uploadFile(o: TusUpload): Promise<void> {
  let url = o.uploadUrl;
  let offset: number | null = null;
  let failures = 0;
  let first = true;
  const file = await Deno.open(o.file);
  try {
    const buffer = new Uint8Array(TUS_CHUNK_BYTES);
    while (true) {
      o.signal?.throwIfAborted();
      try {
        if (url && offset === null) offset = await serverOffset(o, url);
        if (!url || offset === null) {
          url = await create(o);
          offset = 0;
        }
        if (first) {
          o.onProgress(offset, o.uploadUrl && offset > 0 ? offset : undefined);
          first = false;
        }
        if (offset >= o.bytes) return;
        await file.seek(offset, Deno.SeekMode.Start);
        let filled = 0;
        const want = Math.min(TUS_CHUNK_BYTES, o.bytes - offset);
        while (filled < want) {
          const n = await file.read(buffer.subarray(filled, want));
          if (n === null) throw new CliError("upload_refused", `${o.file} changed during upload.`);
          filled += n;
        }
        const response = await check(
          await fetch(url, {
            method: "PATCH",
            headers: {
              ...await headers(o),
              "upload-offset": String(offset),
              "content-type": "application/offset+octet-stream",
            },
            body: buffer.slice(0, want),
            signal: o.signal,
          }),
          "PATCH",
        );
        await response.body?.cancel();
        offset = Number(response.headers.get("upload-offset") ?? offset + want);
        failures = 0;
        o.onProgress(offset);
        if (offset >= o.bytes) return;
      } catch (error) {
        if (error instanceof CliError || o.signal?.aborted) throw error;
        if (failures >= RETRY_DELAYS_MS.length) {
          throw new CliError(
            "upload_interrupted",
            "The upload was interrupted. Check your connection and run again with --resume.",
          );
        }
        await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[failures++]));
        offset = null; // ask the server where it stands
      }
    }
  } finally {
    file.close();
  }
}
