/**
 * render: SRT, WebVTT and JSON for the source language and every translation, and the summary
 * (summary, chapters, key points) when the job asked for one.
 */
import { layoutCues, renderJson, renderSrt, renderWebVtt } from "../captions.ts";
import type { StepInput, StepOutput } from "../contract.ts";
import type { StepContext } from "../step_runtime.ts";
import type { Transcript } from "../transcript.ts";

export function renderTranscript(language: string, transcript: Transcript) {
  const cues = layoutCues(transcript);
  return [
    { language, format: "srt" as const, content: renderSrt(cues) },
    { language, format: "vtt" as const, content: renderWebVtt(cues) },
    { language, format: "json" as const, content: renderJson(transcript, cues) },
  ];
}

/** Every output of a job: captions per language, and the summary (as JSON) when there is one. */
export function renderOutputs(input: StepInput<"render">): StepOutput<"render">["outputs"] {
  const { merge: { transcript }, translate, summarize: summary } = input;
  return [
    ...renderTranscript(transcript.language, transcript),
    ...translate.flatMap((t) => renderTranscript(t.language, t.transcript)),
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
  return Promise.resolve({ outputs: renderOutputs(ctx.input) });
}
