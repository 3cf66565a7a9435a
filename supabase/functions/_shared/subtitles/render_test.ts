import assert from "node:assert/strict";
import { StepIO } from "../engine/contract.ts";
import { renderOutputs } from "./render.ts";

const transcript = {
  language: "en",
  segments: [{ start: 0, end: 2.5, text: "Welcome to the show.", speaker: "Speaker 1" }],
};
const summary = {
  summary: "A short welcome.",
  chapters: [{ start: 0, title: "Welcome", summary: "" }],
  keyPoints: ["Everyone is welcome."],
};

Deno.test("render stores the summary beside the captions, in the source language", () => {
  const input = StepIO.render.input.parse({ merge: { transcript }, summarize: summary });
  const outputs = StepIO.render.output.parse({ outputs: renderOutputs(input) }).outputs;
  assert(
    outputs.map((o) => `${o.language}.${o.format}`).join(" ") ===
      "en.srt en.vtt en.ttml en.txt en.json en.summary",
    `outputs: ${outputs.map((o) => `${o.language}.${o.format}`)}`,
  );
  const stored = JSON.parse(outputs.find((o) => o.format === "summary")!.content);
  assert(JSON.stringify(stored) === JSON.stringify(summary), `summary: ${JSON.stringify(stored)}`);
});

Deno.test("render without a summary stores captions only, for every language", () => {
  const input = StepIO.render.input.parse({
    merge: { transcript },
    translate: [{ language: "de", transcript }],
  });
  const formats = renderOutputs(input).map((o) => `${o.language}.${o.format}`).join(" ");
  assert(
    formats === "en.srt en.vtt en.ttml en.txt en.json de.srt de.vtt de.ttml de.txt de.json",
    formats,
  );
});
