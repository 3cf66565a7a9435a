/**
 * The manifest a client uploads beside its chunks (`<user>/<upload id>/manifest.json`), read by
 * the prepare step (supabase/functions/_shared/engine/contract.ts). One builder for every client: the
 * web app (../upload.ts) and the command-line client (scripts/ship/subs).
 *
 * Pure logic without browser APIs, so Deno unit tests cover it (manifest_test.ts).
 */
import type { ManifestChunk } from "./chunk_plan.ts";

export const MANIFEST_NAME = "manifest.json";

/** What the manifest says about the recording the audio came from. */
export interface ManifestSource {
  filename: string;
  bytes: number;
  sha256: string;
  /** Seconds of the audio track (recording_windows.ts), not the container's. */
  duration: number;
  /** Where the audio starts on the video's timeline, seconds (0 when it starts with it). */
  audio_start?: number;
}

/** How the chunks were made (ExtractedAudio minus the chunks). */
export interface ManifestAudio {
  codec: string;
  container: string;
  method: "remux" | "transcode" | "ffmpeg";
}

/** One chunk as the extractor made it; `name` is its file name inside the upload folder. */
export interface NamedChunk {
  index: number;
  name: string;
  start: number;
  end: number;
  overlap_before: number;
}

export interface Manifest {
  version: 1;
  source: ManifestSource;
  audio: ManifestAudio;
  chunks: ManifestChunk[];
}

/** The storage path of a file of the upload folder `folder` (`<user>/<upload id>`). */
export const objectPath = (folder: string, name: string) => `${folder}/${name}`;

/** The manifest of `chunks` uploaded to `folder`. */
export function buildManifest(
  folder: string,
  source: ManifestSource,
  audio: ManifestAudio,
  chunks: NamedChunk[],
): Manifest {
  return {
    version: 1,
    source,
    audio: { codec: audio.codec, container: audio.container, method: audio.method },
    chunks: chunks.map(({ index, name, start, end, overlap_before }) => ({
      index,
      path: objectPath(folder, name),
      start,
      end,
      overlap_before,
    })),
  };
}

/** The `media` column of the job row for a manifest uploaded to `folder`. */
export function jobMedia(folder: string, source: ManifestSource) {
  // The job row knows path, bytes, sha256 and duration; audio_start lives in the manifest.
  return {
    path: objectPath(folder, MANIFEST_NAME),
    bytes: source.bytes,
    sha256: source.sha256,
    duration: source.duration,
  };
}
