/** The editor's operations on cues, pure (unit-tested in cue_edits_test.ts). Times in seconds. */
import type { CaptionDocument } from "../../supabase/functions/_shared/subtitles/caption_document.ts";

export interface EditCue {
  start: number;
  end: number;
  text: string;
  speaker?: string;
}

/** The cues to edit: the document's caption cues, or one per segment when it has none. */
export function cuesOf(doc: Pick<CaptionDocument, "segments" | "cues">): EditCue[] {
  return (doc.cues ?? doc.segments.map((s) => ({ ...s, lines: [s.text] })))
    .map((c) => ({
      start: c.start,
      end: c.end,
      text: c.lines.join(" "),
      ...(c.speaker ? { speaker: c.speaker } : {}),
    }));
}

export const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** Splits a cue's words in two at the middle word; both halves share the time by length. */
export function splitCue(cue: EditCue): [EditCue, EditCue] | null {
  const words = cue.text.split(/\s+/).filter(Boolean);
  if (words.length < 2) return null;
  const cut = Math.ceil(words.length / 2);
  const first = words.slice(0, cut).join(" ");
  const second = words.slice(cut).join(" ");
  const at = round(
    cue.start + (cue.end - cue.start) * first.length / (first.length + second.length + 1),
  );
  return [{ ...cue, end: at, text: first }, { ...cue, start: at, text: second }];
}

export function mergeCues(a: EditCue, b: EditCue): EditCue {
  return {
    start: a.start,
    end: Math.max(a.end, b.end),
    text: `${a.text} ${b.text}`,
    speaker: a.speaker ?? b.speaker,
  };
}

export function shiftCues(cues: EditCue[], seconds: number): EditCue[] {
  const shift = Math.max(seconds, -Math.min(...cues.map((c) => c.start)));
  return cues.map((c) => ({ ...c, start: round(c.start + shift), end: round(c.end + shift) }));
}

export function renameSpeaker(cues: EditCue[], from: string, to: string): EditCue[] {
  const name = to.trim();
  return cues.map((c) => (c.speaker === from ? { ...c, speaker: name || undefined } : c));
}

/** Why the cues cannot be saved as they are, or null. */
export function problemOf(cues: EditCue[]): string | null {
  for (const [i, c] of cues.entries()) {
    if (!c.text.trim()) return `Caption ${i + 1} has no text.`;
    if (!(c.end > c.start)) return `Caption ${i + 1} must end after it starts.`;
    if (i > 0 && c.start < cues[i - 1].start) {
      return `Caption ${i + 1} starts before the one above it.`;
    }
  }
  return cues.length ? null : "There is nothing to save.";
}
