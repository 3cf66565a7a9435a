import assert from "node:assert/strict";
import { cuesOf, mergeCues, problemOf, renameSpeaker, shiftCues, splitCue } from "./cue_edits.ts";

const cue = { start: 1, end: 5, text: "one two three four", speaker: "A" };

Deno.test("split: two halves of the words, the time shared by length, no overlap", () => {
  const [a, b] = splitCue(cue)!;
  assert.equal(a.text, "one two");
  assert.equal(b.text, "three four");
  assert.equal(a.start, 1);
  assert.equal(b.end, 5);
  assert.equal(a.end, b.start);
  assert.ok(a.end > 1 && a.end < 5);
  assert.equal(splitCue({ ...cue, text: "single" }), null);
});

Deno.test("merge, shift (never before 0), rename", () => {
  const merged = mergeCues(cue, { start: 5.5, end: 7, text: "five", speaker: "B" });
  assert.deepEqual(merged, { start: 1, end: 7, text: "one two three four five", speaker: "A" });
  assert.deepEqual(shiftCues([cue], 0.25)[0], { ...cue, start: 1.25, end: 5.25 });
  assert.deepEqual(shiftCues([cue], -3)[0], { ...cue, start: 0, end: 4 });
  assert.equal(renameSpeaker([cue, { ...cue, speaker: "B" }], "A", " Alice ")[0].speaker, "Alice");
  assert.equal(renameSpeaker([cue], "A", "Alice")[0].text, cue.text);
});

Deno.test("problems the server would refuse are caught before saving", () => {
  assert.equal(problemOf([cue]), null);
  assert.match(problemOf([{ ...cue, text: " " }])!, /no text/);
  assert.match(problemOf([{ ...cue, end: 1 }])!, /end after/);
  assert.match(problemOf([cue, { ...cue, start: 0.5 }])!, /before the one above/);
  assert.match(problemOf([])!, /nothing/);
});

Deno.test("the cues to edit: the document's cues, or one per segment when it has none", () => {
  const segments = [{ start: 0, end: 2, text: "hello there", speaker: "A" }, {
    start: 3,
    end: 4,
    text: "bye",
  }];
  assert.deepEqual(cuesOf({ segments }), [
    { start: 0, end: 2, text: "hello there", speaker: "A" },
    { start: 3, end: 4, text: "bye" },
  ]);
  const cues = [{ start: 0, end: 2, lines: ["hello", "there"], speaker: "A" }];
  assert.deepEqual(cuesOf({ segments, cues }), [{
    start: 0,
    end: 2,
    text: "hello there",
    speaker: "A",
  }]);
});
