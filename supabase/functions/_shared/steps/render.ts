/** render: SRT, WebVTT and JSON for the source language and every translation. */
import { layoutCues, renderJson, renderSrt, renderWebVtt } from "../captions.ts";
import type { StepOutput } from "../contract.ts";
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

export function renderStep(ctx: StepContext<"render">): Promise<StepOutput<"render">> {
  const { transcript, translations } = ctx.input;
  const outputs = [
    ...renderTranscript(transcript.language, transcript),
    ...Object.entries(translations).flatMap(([lang, t]) => renderTranscript(lang, t)),
  ];
  return Promise.resolve({ outputs });
}
