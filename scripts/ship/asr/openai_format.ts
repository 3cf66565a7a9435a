/**
 * Renders a {@link Transcription} in the response formats of OpenAI's
 * `POST /v1/audio/transcriptions`, so any OpenAI-compatible client reads this engine unchanged.
 */
import { deflateSync } from "node:zlib";
import type { Transcription } from "./transcribe.ts";

export type ResponseFormat = "json" | "text" | "verbose_json" | "srt" | "vtt";
export type Granularity = "word" | "segment";

/** The model id this server answers to (any `model` field is accepted, this one is listed). */
export const MODEL_ID = "pocketsphinx-en-us";

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export function errorBody(message: string, code: string, param: string | null = null) {
  const type = code === "server_error" ? "server_error" : "invalid_request_error";
  return { error: { message, type, param, code } };
}

/** Builds the HTTP response for `format`; words appear in verbose_json only when asked for. */
export function renderTranscription(
  transcription: Transcription,
  format: ResponseFormat,
  granularities: Granularity[],
): Response {
  switch (format) {
    case "json":
      return Response.json({ text: transcription.text });
    case "text":
      return textResponse(transcription.text + "\n", "text/plain");
    case "srt":
      return textResponse(renderSrt(transcription), "application/x-subrip");
    case "vtt":
      return textResponse(renderVtt(transcription), "text/vtt");
    case "verbose_json":
      return Response.json(verboseJson(transcription, granularities));
  }
}

function verboseJson(transcription: Transcription, granularities: Granularity[]) {
  const body: Record<string, unknown> = {
    task: "transcribe",
    language: "english",
    duration: transcription.duration,
    text: transcription.text,
    segments: transcription.segments.map((segment, id) => ({
      id,
      // Whisper's seek is the 10 ms frame where its decoding window began; ours is the segment's.
      seek: Math.round(segment.start * 100),
      start: segment.start,
      end: segment.end,
      text: segment.text,
      tokens: [],
      temperature: 0,
      avg_logprob: mean(segment.words.map((w) => w.logprob)),
      compression_ratio: compressionRatio(segment.text),
      // Segments exist only where the decoder found words; silence yields no segment at all.
      no_speech_prob: 0,
    })),
  };
  if (granularities.includes("word")) {
    body.words = transcription.words.map(({ word, start, end }) => ({ word, start, end }));
  }
  return body;
}

function renderSrt(transcription: Transcription): string {
  return transcription.segments
    .map((s, i) => `${i + 1}\n${timestamp(s.start, ",")} --> ${timestamp(s.end, ",")}\n${s.text}\n`)
    .join("\n");
}

function renderVtt(transcription: Transcription): string {
  const cues = transcription.segments
    .map((s) => `${timestamp(s.start, ".")} --> ${timestamp(s.end, ".")}\n${s.text}\n`);
  return ["WEBVTT\n", ...cues].join("\n");
}

/** hh:mm:ss,mmm (SRT) or hh:mm:ss.mmm (WebVTT). */
function timestamp(seconds: number, separator: string): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

/** Whisper's repetition signal: UTF-8 length over zlib-compressed length. */
function compressionRatio(text: string): number {
  const bytes = new TextEncoder().encode(text);
  return bytes.length === 0 ? 0 : bytes.length / deflateSync(bytes).length;
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

function textResponse(body: string, type: string): Response {
  return new Response(body, { headers: { "content-type": `${type}; charset=utf-8` } });
}
