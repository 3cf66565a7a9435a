/**
 * The viewer's cue logic on documents the render step really writes (captions.ts renderJson,
 * read back through the one caption document schema), and on a running job's partial segments.
 */
import assert from "node:assert/strict";
import { CaptionDocument } from "../../supabase/functions/_shared/subtitles/caption_document.ts";
import {
  CAPTION_RULES,
  type Cue,
  renderJson,
} from "../../supabase/functions/_shared/subtitles/captions.ts";
import type { Transcript } from "../../supabase/functions/_shared/subtitles/transcript.ts";
import { clock, lineAt, linesOf, matchingLines, styleCheck } from "./transcript_lines.ts";

const transcript: Transcript = {
  language: "en",
  duration: 20,
  segments: [
    { start: 0, end: 4, text: "Welcome to the meeting.", speaker: "Ana" },
    { start: 5, end: 9, text: "Thanks, glad to be here.", speaker: "Ben" },
    { start: 10, end: 12, text: "Let us start.", speaker: "Ana" },
  ],
};
const cues: Cue[] = [
  { start: 0, end: 4, lines: ["Welcome to the meeting."], speaker: "Ana" },
  { start: 5, end: 9, lines: ["Thanks,", "glad to be here."], speaker: "Ben" },
  // 0.4 s on screen: shorter than the rules' minimum, so the render step reports it.
  { start: 10, end: 10.4, lines: ["Let us start."], speaker: "Ana" },
];

const rendered = (withCues: boolean) =>
  CaptionDocument.parse(
    JSON.parse(
      withCues
        ? renderJson(transcript, cues, { ...CAPTION_RULES, preset: "bbc" })
        : renderJson(transcript),
    ),
  );

Deno.test("lines are the caption cues, their lines joined, with the rules each one breaks", () => {
  const lines = linesOf(rendered(true));
  assert.deepEqual(lines.map((l) => [l.start, l.end, l.text, l.speaker]), [
    [0, 4, "Welcome to the meeting.", "Ana"],
    [5, 9, "Thanks, glad to be here.", "Ben"],
    [10, 10.4, "Let us start.", "Ana"],
  ]);
  assert.deepEqual(lines[0].problems, []);
  assert.deepEqual(lines[1].problems, []);
  assert.deepEqual(lines[2].problems, [
    "min-duration: 400 ms < 833 ms",
    "reading-speed: 32.5 characters/s > 20",
  ]);
});

Deno.test("without cues (a partial transcript, or a document without layout) lines are the segments", () => {
  assert.deepEqual(
    linesOf(rendered(false)).map((l) => l.text),
    transcript.segments.map((s) => s.text),
  );
  const partial = linesOf({ segments: [{ start: 1, end: 2, text: "so far" }] });
  assert.deepEqual(partial, [{ start: 1, end: 2, text: "so far", problems: [] }]);
});

Deno.test("the line on screen: start inclusive, end exclusive, none in a gap or past the end", () => {
  const lines = linesOf(rendered(true));
  assert.equal(lineAt(lines, 0), 0);
  assert.equal(lineAt(lines, 3.999), 0);
  assert.equal(lineAt(lines, 4), -1);
  assert.equal(lineAt(lines, 5), 1);
  assert.equal(lineAt(lines, 10.2), 2);
  assert.equal(lineAt(lines, 11), -1);
});

Deno.test("search matches text in any case, trimmed, and keeps each line's index", () => {
  const lines = linesOf(rendered(true));
  assert.deepEqual(matchingLines(lines, "  GLAD ").map((m) => m.index), [1]);
  assert.deepEqual(matchingLines(lines, "").length, 3);
  assert.deepEqual(matchingLines(lines, "nobody said this"), []);
});

Deno.test("style check: the broken cues counted once each, none without rules", () => {
  const check = styleCheck(rendered(true), "BBC");
  assert.ok(check?.broken);
  assert.equal(check?.text, "Caption style: BBC. 1 of 3 cues break it (marked ⚠ below).");
  const clean = styleCheck({ ...rendered(true), violations: [] }, "BBC");
  assert.deepEqual(clean, { broken: false, text: "Caption style: BBC. Every cue follows it." });
  assert.equal(styleCheck(rendered(false), "BBC"), null);
});

Deno.test("clock: m:ss under an hour, h:mm:ss from one", () => {
  assert.equal(clock(0), "0:00");
  assert.equal(clock(65.9), "1:05");
  assert.equal(clock(3600 + 62), "1:01:02");
});
