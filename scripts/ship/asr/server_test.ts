/**
 * Acceptance of the offline engine over HTTP, the way the transcribe step will call it: flite
 * speaks a known text of more than a minute, the server transcribes it, and the word error rate
 * against that text must stay at or under 15 %.
 */
import assert from "node:assert/strict";
import { makeSilence, makeSpeech, makeVideo, probeDuration, REFERENCE_PROSE } from "./fixtures.ts";
import { startAsrServer } from "./server.ts";
import { wordErrorRate } from "./wer.ts";

const MAX_WER = 0.15;

Deno.test("offline ASR server", async (t) => {
  const server = await startAsrServer({ port: 0 });
  const dir = await Deno.makeTempDir({ prefix: "asr-test-" });
  const endpoint = `${server.url}/v1/audio/transcriptions`;
  try {
    await t.step(
      "transcribes over a minute of speech within 15 % WER, with word timings",
      async () => {
        const wav = `${dir}/speech.wav`;
        await makeSpeech(REFERENCE_PROSE, wav);
        const audioSeconds = await probeDuration(wav);
        assert.ok(audioSeconds >= 60, `fixture too short: ${audioSeconds} s`);

        const began = performance.now();
        const response = await post(endpoint, await fileOf(wav, "audio/wav"), {
          model: "pocketsphinx-en-us",
          language: "en",
          response_format: "verbose_json",
          "timestamp_granularities[]": ["word", "segment"],
        });
        const elapsed = (performance.now() - began) / 1000;
        assert.equal(response.status, 200);
        const body = await response.json();

        assert.equal(body.task, "transcribe");
        assert.equal(body.language, "english");
        assert.ok(Math.abs(body.duration - audioSeconds) < 0.1, `duration ${body.duration}`);
        assert.equal(typeof body.text, "string");
        assert.ok(body.segments.length >= 5, "a minute of speech spans several segments");
        body.segments.forEach((segment: Record<string, unknown>, i: number) => {
          assert.deepEqual(Object.keys(segment).sort(), [
            "avg_logprob",
            "compression_ratio",
            "end",
            "id",
            "no_speech_prob",
            "seek",
            "start",
            "temperature",
            "text",
            "tokens",
          ]);
          assert.equal(segment.id, i);
          assert.deepEqual(segment.tokens, []);
          assert.ok((segment.start as number) < (segment.end as number));
        });
        assert.equal(body.segments.map((s: { text: string }) => s.text).join(" "), body.text);

        const words: { word: string; start: number; end: number }[] = body.words;
        assert.equal(words.map((w) => w.word).join(" "), body.text);
        let previousEnd = 0;
        for (const w of words) {
          assert.deepEqual(Object.keys(w).sort(), ["end", "start", "word"]);
          assert.match(w.word, /^[a-z0-9']+$/, `no fillers or markers: ${w.word}`);
          assert.ok(w.start >= previousEnd, `"${w.word}" starts before the previous word ends`);
          assert.ok(w.end > w.start, `"${w.word}" has no length`);
          previousEnd = w.end;
        }
        assert.ok(previousEnd <= audioSeconds, "last word ends inside the audio");

        const score = wordErrorRate(REFERENCE_PROSE, body.text);
        console.log(
          `WER ${(score.wer * 100).toFixed(1)} % (${score.substitutions} sub, ${score.deletions} ` +
            `del, ${score.insertions} ins of ${score.words} words); ${audioSeconds.toFixed(1)} s ` +
            `audio in ${elapsed.toFixed(1)} s, real-time factor ${
              (elapsed / audioSeconds).toFixed(3)
            }`,
        );
        assert.ok(score.wer <= MAX_WER, `WER ${score.wer} above ${MAX_WER}`);
      },
    );

    await t.step("reads the audio of an H.264/AAC video and answers SRT and VTT", async () => {
      const sentences = "The baker opens his shop before sunrise. " +
        "Children carry their books to school and talk about the games they will play.";
      const wav = `${dir}/short.wav`;
      const mp4 = `${dir}/short.mp4`;
      await makeSpeech(sentences, wav);
      await makeVideo(wav, mp4);
      const video = await fileOf(mp4, "video/mp4");

      const srt = await (await post(endpoint, video, { response_format: "srt" })).text();
      assert.match(srt, /^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n[a-z' ]+\n/);
      const recognized = srt.split("\n").filter((line) => /^[a-z' ]+$/.test(line)).join(" ");
      assert.ok(wordErrorRate(sentences, recognized).wer <= MAX_WER, recognized);

      const vtt = await (await post(endpoint, video, { response_format: "vtt" })).text();
      assert.match(vtt, /^WEBVTT\n\n00:00:\d\d\.\d{3} --> 00:00:\d\d\.\d{3}\n/);

      const text = await post(endpoint, video, { response_format: "text" });
      assert.equal(text.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(await text.text(), recognized + "\n");

      const json = await (await post(endpoint, video, {})).json();
      assert.deepEqual(json, { text: recognized });
    });

    await t.step("silence gives an empty transcript, not an error", async () => {
      const wav = `${dir}/silence.wav`;
      await makeSilence(5, wav);
      const response = await post(endpoint, await fileOf(wav, "audio/wav"), {
        response_format: "verbose_json",
        "timestamp_granularities[]": ["word"],
      });
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.text, "");
      assert.deepEqual(body.segments, []);
      assert.deepEqual(body.words, []);
      assert.ok(Math.abs(body.duration - 5) < 0.1);
    });

    await t.step("refuses languages other than English", async () => {
      const wav = `${dir}/silence.wav`;
      const response = await post(endpoint, await fileOf(wav, "audio/wav"), { language: "de" });
      assert.equal(response.status, 400);
      const { error } = await response.json();
      assert.equal(error.code, "unsupported_language");
      assert.equal(error.param, "language");
      assert.equal(error.type, "invalid_request_error");
      assert.match(error.message, /'de' is not supported/);
    });

    await t.step("refuses garbage bytes and empty files as unreadable media", async () => {
      const garbage = new File([crypto.getRandomValues(new Uint8Array(4096))], "clip.mp3");
      const empty = new File([], "clip.wav");
      for (const file of [garbage, empty]) {
        const response = await post(endpoint, file, { response_format: "verbose_json" });
        assert.equal(response.status, 400, file.name);
        const { error } = await response.json();
        assert.deepEqual(Object.keys(error).sort(), ["code", "message", "param", "type"]);
        assert.equal(error.code, "unreadable_media");
        assert.equal(error.param, "file");
      }
    });

    await t.step("answers health and model listing", async () => {
      const health = await fetch(`${server.url}/health`);
      assert.deepEqual(await health.json(), { status: "ok", model: "pocketsphinx-en-us" });
      const models = await (await fetch(`${server.url}/v1/models`)).json();
      assert.equal(models.object, "list");
      assert.equal(models.data[0].id, "pocketsphinx-en-us");
      const missing = await fetch(`${server.url}/v1/nothing`);
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).error.code, "not_found");
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

async function fileOf(path: string, type: string): Promise<File> {
  return new File([await Deno.readFile(path)], path.split("/").pop()!, { type });
}

function post(
  url: string,
  file: File,
  fields: Record<string, string | string[]>,
): Promise<Response> {
  const form = new FormData();
  form.append("file", file);
  for (const [name, value] of Object.entries(fields)) {
    for (const v of [value].flat()) form.append(name, v);
  }
  return fetch(url, { method: "POST", body: form });
}
