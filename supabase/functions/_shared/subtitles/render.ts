/**
 * render: SRT, WebVTT, TTML, plain text and JSON for the source language and every translation,
 * laid out with the job's caption style, and the summary (summary, chapters, key points) when the
 * job asked for one. The same functions render an edited revision (functions/revise).
 */
import {
  CaptionStyle,
  layoutCues,
  renderJson,
  renderSrt,
  renderText,
  renderTtml,
  renderWebVtt,
  rulesOfStyle,
} from "./captions.ts";
import type { StepInput, StepOutput } from "../engine/contract.ts";
import type { StepContext } from "../engine/step_runtime.ts";
import type { Transcript } from "./transcript.ts";

/** Every caption format of one language, laid out with `style` (a job's `caption_style`). */
export function renderTranscript(
  language: string,
  transcript: Transcript,
  style?: unknown,
  { keepSegments = false } = {},
) {
  const rules = rulesOfStyle(style);
  const preset = CaptionStyle.safeParse(style).data?.preset;
  const cues = layoutCues(transcript, { ...rules, keepSegments });
  return [
    { language, format: "srt" as const, content: renderSrt(cues) },
    { language, format: "vtt" as const, content: renderWebVtt(cues) },
    { language, format: "ttml" as const, content: renderTtml(cues, language) },
    { language, format: "txt" as const, content: renderText(transcript) },
    {
      language,
      format: "json" as const,
      content: renderJson(transcript, cues, { ...rules, ...(preset ? { preset } : {}) }),
    },
  ];
}

/** Every output of a job: captions per language, and the summary (as JSON) when there is one. */
export function renderOutputs(
  input: StepInput<"render">,
  style?: unknown,
): StepOutput<"render">["outputs"] {
  const { merge: { transcript }, translate, summarize: summary } = input;
  return [
    ...renderTranscript(transcript.language, transcript, style),
    ...translate.flatMap((t) => renderTranscript(t.language, t.transcript, style)),
    ...(summary
      ? [{
        language: transcript.language,
        format: "summary" as const,
        content: JSON.stringify(summary),
      }]
      : []),
  ];
}

export function renderStep(ctx: StepContext<"render">): Promise<StepOutput<"render">> {
  const style = (ctx.claim.job.options as Record<string, unknown>).caption_style;
  return Promise.resolve({ outputs: renderOutputs(ctx.input, style) });
}
