/**
 * The render step's outputs read back by independent parsers: TTML by an XML DOM parser
 * (@xmldom/xmldom), WebVTT and SRT by the `subtitle` package, plain text by a line grammar, JSON
 * by its schema; and the job's caption style honoured, with the rule check in the JSON.
 */
import assert from "node:assert/strict";
import { DOMParser } from "@xmldom/xmldom";
import { parseSync } from "subtitle";
import { checkCaptionRules, type Cue, layoutCues, renderJson, rulesOfStyle } from "./captions.ts";
import { CaptionDocument } from "./caption_document.ts";
import { StepIO } from "../engine/contract.ts";
import type { Transcript } from "./transcript.ts";
import { renderOutputs, renderTranscript } from "./render.ts";

const SENTENCE = "The baker opens his shop before sunrise and the smell of fresh bread drifts " +
  "along the quiet street while children carry their books to school & back.";

const transcript: Transcript = {
  language: "en",
  segments: [
    { start: 0, end: 9, text: SENTENCE, speaker: "Ana <host>" },
    {
      start: 10,
      end: 12,
      text: "Yes, indeed.",
      speaker: "Bo",
      words: [{ text: "Yes,", start: 10, end: 10.6 }, { text: "indeed.", start: 10.7, end: 12 }],
    },
    { start: 14, end: 16, text: "Thank you all." },
  ],
};

const outputOf = (style: unknown, format: string) =>
  renderTranscript("en", transcript, style).find((o) => o.format === format)!.content;

/** TTML clock time HH:MM:SS.mmm → seconds. */
function clockSeconds(value: string): number {
  const match = /^(\d{2,}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value);
  assert(match, `not a clock time: ${value}`);
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
}

const TT = "http://www.w3.org/ns/ttml";
const TTP = "http://www.w3.org/ns/ttml#parameter";
const TTM = "http://www.w3.org/ns/ttml#metadata";

Deno.test("TTML parses as IMSC 1.1 Text: namespaces, profile, one p per cue with its lines", () => {
  const cues = layoutCues(transcript);
  const errors: string[] = [];
  const doc = new DOMParser({
    onError: (level: string, message: string) => errors.push(`${level}: ${message}`),
  }).parseFromString(outputOf(undefined, "ttml"), "application/xml");
  assert(errors.length === 0, `XML errors: ${errors.join("; ")}`);
  const tt = doc.documentElement!;
  assert(
    tt.localName === "tt" && tt.namespaceURI === TT,
    `root ${tt.namespaceURI} ${tt.localName}`,
  );
  assert(
    tt.getAttributeNS(TTP, "contentProfiles") === "http://www.w3.org/ns/ttml/profile/imsc1.1/text",
    "IMSC 1.1 text profile",
  );
  assert(tt.getAttributeNS(TTP, "timeBase") === "media", "media time base");
  assert(tt.getAttribute("xml:lang") === "en", "language");
  const paragraphs = Array.from(doc.getElementsByTagNameNS(TT, "p"));
  assert(paragraphs.length === cues.length, `${paragraphs.length} p for ${cues.length} cues`);
  const agents = new Map(
    Array.from(doc.getElementsByTagNameNS(TTM, "agent")).map((agent) => [
      agent.getAttribute("xml:id"),
      agent.getElementsByTagNameNS(TTM, "name")[0].textContent,
    ]),
  );
  paragraphs.forEach((p, i) => {
    const cue = cues[i];
    const begin = clockSeconds(p.getAttribute("begin")!);
    const end = clockSeconds(p.getAttribute("end")!);
    assert(Math.abs(begin - cue.start) < 0.001 && Math.abs(end - cue.end) < 0.001, `times ${i}`);
    // Lines are the text nodes between <br/> elements.
    const lines: string[] = [""];
    for (const node of Array.from(p.childNodes)) {
      if (node.nodeType === 1 && (node as unknown as { localName: string }).localName === "br") {
        lines.push("");
      } else lines[lines.length - 1] += node.textContent;
    }
    assert(JSON.stringify(lines) === JSON.stringify(cue.lines), `lines ${i}: ${lines}`);
    const agent = p.getAttributeNS(TTM, "agent");
    assert((agent ? agents.get(agent) : undefined) === cue.speaker, `speaker ${i}: ${agent}`);
  });
  assert(agents.get("speaker1") === "Ana <host>", "escaped speaker name read back");
});

Deno.test("WebVTT and SRT parse back with the subtitle package to the same cues", () => {
  const cues = layoutCues(transcript);
  for (const format of ["srt", "vtt"]) {
    const nodes = parseSync(outputOf(undefined, format)).filter((n) => n.type === "cue");
    assert(nodes.length === cues.length, `${format}: ${nodes.length} cues`);
    nodes.forEach((node, i) => {
      const data = node.data as { start: number; end: number; text: string };
      assert(data.start === Math.round(cues[i].start * 1000), `${format} start ${i}`);
      assert(data.end === Math.round(cues[i].end * 1000), `${format} end ${i}`);
    });
  }
});

Deno.test("plain text: one line per segment with its timestamp and speaker, read back", () => {
  const lines = outputOf(undefined, "txt").trimEnd().split("\n");
  assert(lines.length === transcript.segments.length, `${lines.length} lines`);
  lines.forEach((line, i) => {
    const match = /^\[(\d{2}):(\d{2}):(\d{2})\.(\d{3})\] (?:(.+?): )?(.*)$/.exec(line);
    assert(match, `line ${i}: ${line}`);
    const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) +
      Number(match[4]) / 1000;
    const segment = transcript.segments[i];
    assert(seconds === segment.start, `start ${i}`);
    assert(match[5] === segment.speaker, `speaker ${i}: ${match[5]}`);
    assert(match[6] === segment.text, `text ${i}: ${match[6]}`);
  });
});

Deno.test("word-level JSON: engine word times kept, interpolated times never written", () => {
  const doc = CaptionDocument.parse(JSON.parse(outputOf(undefined, "json")));
  assert(doc.segments[0].words === undefined, "interpolated words are not presented as real");
  assert(
    JSON.stringify(doc.segments[1].words) ===
      JSON.stringify([{ text: "Yes,", start: 10, end: 10.6 }, {
        text: "indeed.",
        start: 10.7,
        end: 12,
      }]),
    `engine words: ${JSON.stringify(doc.segments[1].words)}`,
  );
});

/** A job's caption_style as normalize_options stores the DCMP preset (047_caption_presets.sql). */
const dcmp = {
  preset: "dcmp",
  max_line_chars: 32,
  max_lines: 2,
  max_chars_per_second: 13.6,
  min_duration: 2,
  max_duration: 7,
};

Deno.test("the job's caption style is honoured: each style's limits hold, the default's do not", () => {
  const doc = CaptionDocument.parse(JSON.parse(outputOf(dcmp, "json")));
  assert(doc.rules?.preset === "dcmp" && doc.rules.maxLineChars === 32, "rules recorded");
  const longest = Math.max(...doc.cues!.flatMap((c) => c.lines.map((l) => l.length)));
  assert(longest <= 32, `DCMP line of ${longest}`);
  assert(doc.cues!.every((c) => c.end - c.start >= 2 - 1e-9), "DCMP minimum 2 s");
  const defaultLongest = Math.max(
    ...layoutCues(transcript).flatMap((c) => c.lines.map((l) => l.length)),
  );
  assert(defaultLongest > 32, `the default layout differs (${defaultLongest})`);
  for (const maxLineChars of [28, 32, 37, 42]) {
    const cues = layoutCues(transcript, { ...rulesOfStyle(dcmp), maxLineChars });
    assert(cues.every((c) => c.lines.every((l) => l.length <= maxLineChars)), `${maxLineChars}`);
  }
  // The render step reads the style from the job's options.
  const input = StepIO.render.input.parse({ merge: { transcript } });
  const json = renderOutputs(input, dcmp).find((o) => o.format === "json")!;
  assert(CaptionDocument.parse(JSON.parse(json.content)).rules?.maxLineChars === 32, "step");
});

Deno.test("the rule check in the JSON reports every cue that breaks the style", () => {
  const cues: Cue[] = [
    { start: 0, end: 0.5, lines: ["Too short."] },
    { start: 1, end: 3, lines: ["This line is far longer than the thirty-two allowed"] },
    { start: 4, end: 6, lines: ["Fine."] },
  ];
  const rules = rulesOfStyle(dcmp);
  const doc = CaptionDocument.parse(JSON.parse(renderJson(transcript, cues, rules)));
  const found = doc.violations!.map((v) => `${v.cue}:${v.rule}`);
  assert(
    JSON.stringify(found) ===
      JSON.stringify(checkCaptionRules(cues, rules).map((v) => `${v.cue}:${v.rule}`)),
    "same as checkCaptionRules",
  );
  assert(found.includes("0:min-duration") && found.includes("1:line-length"), found.join());
  assert(!found.some((f) => f.startsWith("2:")), `cue 2 obeys: ${found}`);
});
