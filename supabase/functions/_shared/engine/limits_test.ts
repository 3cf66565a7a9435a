import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { STORAGE_OBJECT_BYTES, STORAGE_OBJECT_LIMIT_TOML } from "./limits.ts";

const root = new URL("../../../", import.meta.url);

Deno.test("limits: config.toml and the media bucket hold the Free plan's 50 MB per object", async () => {
  const config = parse(await Deno.readTextFile(new URL("config.toml", root))) as {
    storage: { file_size_limit: string };
  };
  assert.equal(config.storage.file_size_limit, STORAGE_OBJECT_LIMIT_TOML);
  assert.equal(STORAGE_OBJECT_LIMIT_TOML, `${STORAGE_OBJECT_BYTES / 2 ** 20}MiB`);
  const sql = await Deno.readTextFile(new URL("schemas/100_storage.sql", root));
  const bucket = /values \('media', 'media', false, (\d+),/.exec(sql);
  assert.equal(Number(bucket?.[1]), STORAGE_OBJECT_BYTES);
});
