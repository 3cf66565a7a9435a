/**
 * What the transcript viewer shows, as data (unit-tested in transcript_lines_test.ts): the lines
 * of a caption document (its cues, or its segments when it has none, as a running job's partial
 * transcript), which line the video is on, the search, and the caption style check.
 */
import type { CaptionDocument } from "../../supabase/functions/_shared/subtitles/caption_document.ts";

/** A line of the transcript view: a caption cue (or a segment when there are no cues). */
export interface Line {
  start: number;
  end: number;
  text: string;
  speaker?: string;
  /** The caption rules this cue breaks (`rule: detail`), from the document's violations. */
  problems: string[];
}

/** What the lines are made from: a whole document, or only segments (a partial transcript). */
export type LineSource = Pick<CaptionDocument, "segments" | "cues" | "violations">;

export function linesOf(doc: LineSource): Line[] {
  const problems = new Map<number, string[]>();
  for (const v of doc.violations ?? []) {
    problems.set(v.cue, [...(problems.get(v.cue) ?? []), `${v.rule}: ${v.detail}`]);
  }
  if (!doc.cues) {
    return doc.segments.map((s) => ({
      start: s.start,
      end: s.end,
      text: s.text,
      ...(s.speaker ? { speaker: s.speaker } : {}),
      problems: [],
    }));
  }
  return doc.cues.map((cue, i) => ({
    start: cue.start,
    end: cue.end,
    text: cue.lines.join(" "),
    ...(cue.speaker ? { speaker: cue.speaker } : {}),
    problems: problems.get(i) ?? [],
  }));
}

/** The index of the line on screen at `time` (start inclusive, end exclusive), or -1. */
export function lineAt(lines: Line[], time: number): number {
  return lines.findIndex((line) => time >= line.start && time < line.end);
}

/** The lines whose text contains `query` (trimmed, any case), with their index in `lines`. */
export function matchingLines(lines: Line[], query: string): { line: Line; index: number }[] {
  const wanted = query.trim().toLowerCase();
  return lines.map((line, index) => ({ line, index }))
    .filter(({ line }) => !wanted || line.text.toLowerCase().includes(wanted));
}

/** `h:mm:ss` or `m:ss`. */
export function clock(seconds: number): string {
  const s = Math.floor(seconds % 60).toString().padStart(2, "0");
  const m = Math.floor(seconds / 60) % 60;
  const hours = Math.floor(seconds / 3600);
  return hours ? `${hours}:${m.toString().padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * The sentence about the caption style the cues were laid out with (`styleName`), and whether
 * any cue breaks it; null when the document carries no rule check.
 */
export function styleCheck(
  doc: Pick<CaptionDocument, "cues" | "rules" | "violations">,
  styleName: string,
): { text: string; broken: boolean } | null {
  if (!doc.rules || !doc.cues) return null;
  const broken = new Set((doc.violations ?? []).map((v) => v.cue)).size;
  const total = doc.cues.length;
  return {
    broken: broken > 0,
    text: broken === 0
      ? `Caption style: ${styleName}. Every cue follows it.`
      : `Caption style: ${styleName}. ${broken} of ${total} cue${total === 1 ? "" : "s"} ` +
        "break it (marked ⚠ below).",
  };
}
