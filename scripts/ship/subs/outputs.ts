/**
 * Writes a completed job's outputs as files: `<name>.<format>` for the transcript's language,
 * `<name>.<language>.<format>` for translations, `<name>.summary.json` for the summary, beside
 * the input or in --out DIR.
 */
import { join } from "node:path";
import type { Client } from "./config.ts";
import { CliError, fromApiError } from "./errors.ts";

/** Formats a user may ask for; the server renders the ones it supports. */
export const FORMATS = ["srt", "vtt", "json", "ttml", "txt", "summary"] as const;

export async function writeOutputs(
  client: Client,
  job: { id: string; filename: string; options: { translate_to?: string[] } },
  formats: string[],
  dir: string,
  warn: (text: string) => void,
): Promise<string[]> {
  const { data, error } = await client.from("job_outputs").select("language,format,content")
    .eq("job_id", job.id);
  if (error) throw fromApiError(error);
  const translations = new Set(job.options.translate_to ?? []);
  const base = job.filename.replace(/\.[^.]+$/, "");
  await Deno.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const format of formats) {
    const outputs = (data ?? []).filter((o) => o.format === format);
    if (!outputs.length) {
      warn(`This server produced no ${format} output for this job.`);
      continue;
    }
    for (const output of outputs) {
      const name = format === "summary"
        ? `${base}.summary.json`
        : `${base}${translations.has(output.language) ? `.${output.language}` : ""}.${format}`;
      const path = join(dir, name);
      await Deno.writeTextFile(path, output.content);
      written.push(path);
    }
  }
  if (formats.length && !written.length) {
    throw new CliError("no_outputs", "None of the requested formats is available for this job.");
  }
  return written;
}
