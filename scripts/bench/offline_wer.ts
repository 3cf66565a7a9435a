/**
 * offline_wer_pct: word error rate of the offline engine (scripts/ship/asr, PocketSphinx behind the
 * OpenAI transcription API) on flite's reading of REFERENCE_PROSE (80-90 s of speech),
 * through the stack's offline server over HTTP. Recognition is deterministic (same audio, same
 * words), so it is transcribed once; offline_rtf is seconds of work per second of audio (load
 * on this shared machine moves it, not the WER). --quick reads only the first six sentences
 * (about 25 s) to stay within its time budget.
 */
import { makeSpeech, probeDuration, REFERENCE_PROSE } from "../ship/asr/fixtures.ts";
import { wordErrorRate } from "../ship/asr/wer.ts";
import { round, RunFigures } from "./statistics.ts";
import type { BenchSuite } from "./suite.ts";

export const offlineWer: BenchSuite = {
  name: "offline_wer",
  async run(ctx) {
    if (!ctx.offlineAsrUrl) throw new Error("no offline ASR server: set OFFLINE_ASR_URL");
    const dir = await Deno.makeTempDir({ prefix: "bench-wer-" });
    const runs = new RunFigures();
    const notes: string[] = [];
    try {
      const wav = `${dir}/speech.wav`;
      const reference = ctx.quick
        ? REFERENCE_PROSE.split(/(?<=\.) /).slice(0, 6).join(" ")
        : REFERENCE_PROSE;
      await makeSpeech(reference, wav);
      const seconds = await probeDuration(wav);
      if (!ctx.quick && seconds < 60) throw new Error(`the speech is ${seconds} s, under 60 s`);
      const audio = await Deno.readFile(wav);
      const repetitions = 1;
      for (let run = 0; run < repetitions; run++) {
        const form = new FormData();
        form.append("file", new File([audio], "speech.wav", { type: "audio/wav" }));
        form.append("model", "pocketsphinx-en-us");
        form.append("language", "en");
        form.append("response_format", "json");
        const t0 = performance.now();
        const res = await fetch(`${ctx.offlineAsrUrl}/v1/audio/transcriptions`, {
          method: "POST",
          body: form,
        });
        if (!res.ok) throw new Error(`offline ASR answered ${res.status}: ${await res.text()}`);
        const { text } = await res.json() as { text: string };
        const elapsed = (performance.now() - t0) / 1000;
        const score = wordErrorRate(reference, text);
        runs.add("offline_wer_pct", score.wer * 100);
        runs.add("offline_rtf", elapsed / seconds);
        if (run === 0) {
          notes.push(
            `offline_wer: ${round(seconds, 1)} s of flite speech (voice rms, ${score.words} ` +
              `words): ${score.substitutions} substitutions, ${score.deletions} deletions, ` +
              `${score.insertions} insertions; transcribed once (deterministic).`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    return { ...runs.result(), notes };
  },
};
