/**
 * Every function folder is called with the secret key (pg_net) and checks its caller itself, so
 * each needs `verify_jwt = false` in supabase/config.toml: a folder without it would be deployed
 * with the platform's JWT check and refuse every dispatch on a project created today.
 */
import { parse } from "smol-toml";
import assert from "node:assert/strict";

const functionsDir = new URL("../../", import.meta.url);
const config = parse(await Deno.readTextFile(new URL("../../../config.toml", import.meta.url))) as {
  functions?: Record<string, { verify_jwt?: boolean }>;
};

Deno.test("every function folder has verify_jwt = false in config.toml", () => {
  const folders = [...Deno.readDirSync(functionsDir)]
    .filter((e) => e.isDirectory && !e.name.startsWith("_")).map((e) => e.name).sort();
  assert.ok(folders.length >= 7, `found only ${folders}`);
  const missing = folders.filter((name) => config.functions?.[name]?.verify_jwt !== false);
  assert.deepEqual(missing, [], `add [functions.<name>] verify_jwt = false for: ${missing}`);
});
