/**
 * Unfinished submissions, kept in the config folder (`uploads/<upload id>/`: state.json and the
 * chunk files) from the moment the audio is extracted until the job row exists, so that
 * `subs --resume` continues an upload another process started (killed, Ctrl-C, lost network).
 */
import { z } from "zod";
import { join } from "node:path";

export const SubmitSettings = z.object({
  options: z.record(z.string(), z.unknown()),
  formats: z.array(z.string()),
  out: z.string().nullable(),
  wait: z.boolean(),
});
export type SubmitSettings = z.infer<typeof SubmitSettings>;

export const UploadState = z.object({
  id: z.uuid(),
  input: z.string(),
  filename: z.string(),
  bytes: z.number(),
  mtime: z.number().nullable(),
  sha256: z.string(),
  folder: z.string(),
  settings: SubmitSettings,
  audio: z.object({
    duration: z.number(),
    audioStart: z.number().default(0),
    codec: z.string(),
    container: z.string(),
    method: z.enum(["remux", "transcode", "ffmpeg"]),
    chunks: z.array(z.object({
      index: z.number(),
      name: z.string(),
      start: z.number(),
      end: z.number(),
      overlap_before: z.number(),
      file: z.string(),
      bytes: z.number(),
      contentType: z.string(),
      uploadUrl: z.string().optional(),
      done: z.boolean().default(false),
    })),
  }),
  manifestDone: z.boolean().default(false),
});
export type UploadState = z.infer<typeof UploadState>;

export const uploadsDir = (configDir: string) => join(configDir, "uploads");
export const stateDir = (configDir: string, id: string) => join(uploadsDir(configDir), id);

export async function saveState(configDir: string, state: UploadState): Promise<void> {
  const dir = stateDir(configDir, state.id);
  await Deno.mkdir(dir, { recursive: true });
  const tmp = join(dir, "state.json.tmp");
  await Deno.writeTextFile(tmp, JSON.stringify(state, null, 2));
  await Deno.rename(tmp, join(dir, "state.json")); // never half-written
}

export async function dropState(configDir: string, id: string): Promise<void> {
  await Deno.remove(stateDir(configDir, id), { recursive: true }).catch(() => {});
}

/** Every unfinished submission of this config folder, oldest first. */
export async function unfinished(configDir: string): Promise<UploadState[]> {
  const states: { state: UploadState; at: number }[] = [];
  try {
    for await (const entry of Deno.readDir(uploadsDir(configDir))) {
      if (!entry.isDirectory) continue;
      const path = join(uploadsDir(configDir), entry.name, "state.json");
      try {
        const state = UploadState.parse(JSON.parse(await Deno.readTextFile(path)));
        states.push({ state, at: (await Deno.stat(path)).birthtime?.getTime() ?? 0 });
      } catch {
        // A folder without a complete state: extraction was interrupted; nothing to resume.
      }
    }
  } catch {
    return [];
  }
  return states.sort((a, b) => a.at - b.at).map((s) => s.state);
}
