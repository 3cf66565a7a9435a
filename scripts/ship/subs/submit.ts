/**
 * One recording submitted the way the web app does it (web/src/upload.ts): queue check, the
 * recording's hash, its audio cut into chunks on this machine, the chunks uploaded with TUS to
 * `media/<user>/<upload id>/`, the manifest (web/src/media/manifest.ts, the web app's builder)
 * and the insert into `jobs`. Between extraction and insert the state is on disk (state.ts).
 */
import {
  buildManifest,
  jobMedia,
  MANIFEST_NAME,
  objectPath,
} from "../../../web/src/media/manifest.ts";
import { isMediaName } from "../../../web/src/media/media_files.ts";
import { join } from "node:path";
import { basename, extractToFiles, probeRecording, recordingHash } from "./audio.ts";
import type { Client, Project } from "./config.ts";
import { CliError, fromApiError } from "./errors.ts";
import type { Display } from "./display.ts";
import { dropState, saveState, stateDir, type SubmitSettings, type UploadState } from "./state.ts";
import { uploadFile } from "./tus.ts";

const BUCKET = "media";

/** Waits while the system is full (the queue refuses new jobs), telling the user. */
export async function waitForRoom(client: Client, display: Display, signal?: AbortSignal) {
  let told = false;
  while (true) {
    const { data, error } = await client.rpc("queue_status");
    if (error) throw fromApiError(error);
    const queue = data as { accepting?: boolean; message?: string | null } | null;
    if (!queue || queue.accepting !== false) return;
    if (!told) display.note(`${queue.message ?? "The system is busy."} Waiting for a free slot…`);
    told = true;
    await new Promise((r) => setTimeout(r, 15_000));
    signal?.throwIfAborted();
  }
}

/** Hashes and extracts `input`; the returned state is saved and ready to upload. */
export async function prepareUpload(
  client: Client,
  userId: string,
  input: string,
  settings: SubmitSettings,
  configDir: string,
  display: Display,
): Promise<UploadState> {
  const filename = basename(input);
  if (!isMediaName(filename)) {
    throw new CliError("unsupported_file", `${filename}: please choose an audio or video file.`);
  }
  const info = await Deno.stat(input).catch(() => null);
  if (!info?.isFile) throw new CliError("not_found", `${input}: no such file.`);
  if (info.size === 0) throw new CliError("empty_file", `${filename}: this file is empty.`);
  // No audio track, an unreadable one or an empty one: refused before hashing or uploading.
  const probe = await probeRecording(input);
  if (probe.tracks > 1) {
    display.note(`Using audio track ${probe.track} of ${probe.tracks} (the default one).`);
  }
  await waitForRoom(client, display);

  display.phase("hashing", 0);
  const sha256 = await recordingHash(input, (f) => display.phase("hashing", f));
  const id = crypto.randomUUID();
  const dir = stateDir(configDir, id);
  const audio = await extractToFiles(input, dir, (f) => display.phase("extracting", f)).catch(
    async (error) => {
      // Nothing was uploaded; the chunk files cut so far go too, so nothing is left behind.
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    },
  );
  const state: UploadState = {
    id,
    input,
    filename,
    bytes: info.size,
    mtime: info.mtime?.getTime() ?? null,
    sha256,
    folder: `${userId}/${id}`,
    settings,
    audio: { ...audio, chunks: audio.chunks.map((c) => ({ ...c, done: false })) },
    manifestDone: false,
  };
  await saveState(configDir, state);
  return state;
}

/** Uploads what of `state` is not on the server yet, then its manifest. */
export async function uploadChunks(
  client: Client,
  p: Project,
  state: UploadState,
  configDir: string,
  display: Display,
  signal?: AbortSignal,
): Promise<void> {
  const total = state.audio.chunks.reduce((n, c) => n + c.bytes, 0);
  let before = state.audio.chunks.filter((c) => c.done).reduce((n, c) => n + c.bytes, 0);
  const accessToken = async () => {
    const { data } = await client.auth.getSession();
    if (!data.session) {
      throw new CliError("not_signed_in", "The session ended; run the command again.");
    }
    return data.session.access_token;
  };
  display.upload(before, total);
  for (const chunk of state.audio.chunks) {
    if (chunk.done) continue;
    await uploadFile({
      supabaseUrl: p.url,
      apiKey: p.key,
      accessToken,
      bucket: BUCKET,
      objectName: objectPath(state.folder, chunk.name),
      contentType: chunk.contentType,
      file: chunk.file.startsWith("/") ? chunk.file : join(Deno.cwd(), chunk.file),
      bytes: chunk.bytes,
      uploadUrl: chunk.uploadUrl,
      onUrl: async (url) => {
        chunk.uploadUrl = url;
        await saveState(configDir, state);
      },
      onProgress: (offset, resumedAt) => {
        if (resumedAt !== undefined) display.note(`Resuming ${chunk.name} at byte ${resumedAt}.`);
        display.upload(before + offset, total, chunk.name);
      },
      signal,
    });
    chunk.done = true;
    before += chunk.bytes;
    await saveState(configDir, state);
    display.upload(before, total, chunk.name, true);
  }
  if (!state.manifestDone) {
    const manifest = buildManifest(
      state.folder,
      manifestSource(state),
      state.audio,
      state.audio.chunks,
    );
    const { error } = await client.storage.from(BUCKET).upload(
      objectPath(state.folder, MANIFEST_NAME),
      new Blob([JSON.stringify(manifest)], { type: "application/json" }),
      { contentType: "application/json", upsert: true },
    );
    if (error) {
      throw new CliError("upload_refused", `Uploading the manifest failed: ${error.message}`);
    }
    state.manifestDone = true;
    await saveState(configDir, state);
  }
}

const manifestSource = (state: UploadState) => ({
  filename: state.filename,
  bytes: state.bytes,
  sha256: state.sha256,
  duration: state.audio.duration,
  audio_start: state.audio.audioStart,
});

/** Inserts the job of an uploaded state; waits for a slot while the queue is full. */
export async function insertJob(
  client: Client,
  state: UploadState,
  display: Display,
): Promise<{ id: string; cachedFrom: string | null }> {
  while (true) {
    const { data, error } = await client.from("jobs").insert({
      filename: state.filename,
      media: jobMedia(state.folder, manifestSource(state)),
      options: state.settings.options as never,
    }).select("id,cached_from").single();
    if (!error) return { id: data.id, cachedFrom: data.cached_from };
    if (error.hint !== "queue_full") throw fromApiError(error);
    await waitForRoom(client, display);
  }
}

/** Removes an upload the server refused to make a job of (best effort), and its local state. */
export async function discardUpload(client: Client, state: UploadState, configDir: string) {
  const paths = [...state.audio.chunks.map((c) => c.name), MANIFEST_NAME].map((n) =>
    objectPath(state.folder, n)
  );
  await client.storage.from(BUCKET).remove(paths).catch(() => {});
  await dropState(configDir, state.id);
}
