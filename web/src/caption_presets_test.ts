/** Presets as the form, the viewer and the CLI show and check them (caption_presets.ts). */
import assert from "node:assert/strict";
import {
  presetChoice,
  presetLabel,
  presetProblem,
  presetsOf,
  presetSummary,
} from "./caption_presets.ts";

// Rows as PostgREST may give them (numeric columns as strings), out of order.
const rows = [
  {
    name: "narrow",
    label: "Narrow",
    position: 2,
    max_line_chars: 30,
    max_lines: 1,
    max_chars_per_second: "12.5",
    min_duration: "1.5",
    max_duration: 6,
  },
  {
    name: "wide",
    label: "Wide",
    position: 1,
    max_line_chars: 50,
    max_lines: 2,
    max_chars_per_second: 20,
    min_duration: 0.833,
    max_duration: 7,
  },
];

Deno.test("rows are validated, numbers read as numbers, in the table's order", () => {
  const presets = presetsOf(rows);
  assert.deepEqual(presets.map((p) => p.name), ["wide", "narrow"]);
  assert.equal(presets[1].max_chars_per_second, 12.5);
  assert.throws(() => presetsOf([{ name: "x" }]));
});

Deno.test("a summary names the label and every number", () => {
  const [wide, narrow] = presetsOf(rows);
  assert.equal(presetSummary(wide), "Wide (50 per line, 2 lines, 20/s, 0.833–7 s)");
  assert.equal(presetSummary(narrow), "Narrow (30 per line, 1 line, 12.5/s, 1.5–6 s)");
  assert.equal(presetChoice(narrow), "Narrow (30, 12.5/s)");
});

Deno.test("an unknown name is refused with the names that work; labels for stored styles", () => {
  const presets = presetsOf(rows);
  assert.equal(presetProblem("wide", presets), null);
  assert.equal(
    presetProblem("netflix", presets),
    '"netflix" is not a caption style preset; use one of wide, narrow (or custom numbers).',
  );
  assert.equal(presetLabel("narrow", presets), "Narrow");
  assert.equal(presetLabel(undefined, presets), "custom");
  assert.equal(presetLabel("custom", presets), "custom");
  assert.equal(presetLabel("gone", presets), "gone");
});
