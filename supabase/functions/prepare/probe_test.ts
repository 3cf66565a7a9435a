/**
 * prepare's probe of a single uploaded file (issue 24, part 4): what cannot work ends with a
 * stable code of its own, each with a message in private.error_codes saying what to do.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { StepError } from "../_shared/engine/failure.ts";
import { startRangeServer } from "../../../scripts/tests/support/range_server.ts";
import {
  mp4WithoutAudio,
  toneWav,
  truncatedMp4,
  unknownCodecMka,
  zeroLengthWav,
} from "../../../scripts/tests/support/recordings.ts";
import { probeDuration } from "./step.ts";

Deno.test("prepare's probe: no audio track, damaged, unknown codec, zero-length audio", async () => {
  const dir = await Deno.makeTempDir({ prefix: "prepare-probe-" });
  const server = startRangeServer();
  try {
    const wav = await toneWav(dir, 5);
    const cases: [string, (path: string) => Promise<void>, string][] = [
      ["silent-film.mp4", (p) => mp4WithoutAudio(p, 3), "no_audio"],
      ["damaged.mp4", (p) => truncatedMp4(p, wav), "unreadable_media"],
      ["opaque.mka", (p) => unknownCodecMka(p, wav), "unsupported_codec"],
      ["zero.wav", zeroLengthWav, "empty_audio"],
    ];
    for (const [name, make, code] of cases) {
      const path = join(dir, name);
      await make(path);
      const url = server.file(name, await Deno.readFile(path));
      const error = await probeDuration(url).then(() => null, (e) => e);
      assert.ok(error instanceof StepError, `${name}: ${error}`);
      assert.equal(error.code, code, `${name}: ${error.message}`);
      assert.equal(error.retryable, false, name);
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
