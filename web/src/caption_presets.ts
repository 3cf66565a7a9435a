/**
 * The caption style presets as clients read them: rows of public.caption_presets
 * (supabase/schemas/047_caption_presets.sql, the one place they are defined), for the web form,
 * the viewer's style name and `deno task subs` (its --help and its --preset check).
 */
import { z } from "zod";

export const CaptionPreset = z.object({
  name: z.string(),
  label: z.string(),
  position: z.coerce.number(),
  max_line_chars: z.coerce.number(),
  max_lines: z.coerce.number(),
  max_chars_per_second: z.coerce.number(),
  min_duration: z.coerce.number(),
  max_duration: z.coerce.number(),
});
export type CaptionPreset = z.infer<typeof CaptionPreset>;

/** The columns to select, and the rows validated and in the table's order. */
export const PRESET_COLUMNS =
  "name,label,position,max_line_chars,max_lines,max_chars_per_second,min_duration,max_duration";
export function presetsOf(rows: unknown): CaptionPreset[] {
  return z.array(CaptionPreset).parse(rows).sort((a, b) => a.position - b.position);
}

/** One line about a preset: "BBC (37 per line, 2 lines, 15.3/s, 0.833–7 s)". */
export function presetSummary(p: CaptionPreset): string {
  return `${p.label} (${p.max_line_chars} per line, ${p.max_lines} line${
    p.max_lines === 1 ? "" : "s"
  }, ${p.max_chars_per_second}/s, ${p.min_duration}–${p.max_duration} s)`;
}

/** The form's short option text (it must fit a 360 px screen): "BBC (37, 15.3/s)". */
export function presetChoice(p: CaptionPreset): string {
  return `${p.label} (${p.max_line_chars}, ${p.max_chars_per_second}/s)`;
}

/** Why `name` cannot be used as a preset (naming the ones that can), or null. */
export function presetProblem(name: string, presets: CaptionPreset[]): string | null {
  if (presets.some((p) => p.name === name)) return null;
  return `"${name}" is not a caption style preset; use one of ${
    presets.map((p) => p.name).join(", ")
  } (or custom numbers).`;
}

/** The name to show for a job's stored style preset ("custom" and unknown names as they are). */
export function presetLabel(name: string | undefined, presets: CaptionPreset[]): string {
  const preset = name ?? "custom";
  return presets.find((p) => p.name === preset)?.label ?? preset;
}
