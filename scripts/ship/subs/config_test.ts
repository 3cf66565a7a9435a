import assert from "node:assert/strict";
import { configDir, project } from "./config.ts";
import { CliError, fromApiError } from "./errors.ts";

const KEY = "sb_publishable_0123456789abcdefghij";

Deno.test("subs config: the environment first, the publishable key before the anon key", () => {
  assert.deepEqual(
    project({
      SUPABASE_URL: "https://ref.supabase.co/",
      SUPABASE_PUBLISHABLE_KEY: KEY,
      SUPABASE_ANON_KEY: "x".repeat(30),
    }),
    { url: "https://ref.supabase.co", key: KEY },
  );
  assert.equal(
    project({ SUPABASE_URL: "http://127.0.0.1:1", SUPABASE_ANON_KEY: "a".repeat(30) }).key,
    "a".repeat(30),
  );
});

Deno.test("subs config: else the local stack's env file; else a stable error code", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/env`,
      `SUPABASE_URL=http://127.0.0.1:5\nSUPABASE_ANON_KEY=${"k".repeat(30)}\n`,
    );
    assert.deepEqual(project({ STACK_DIR: dir }), {
      url: "http://127.0.0.1:5",
      key: "k".repeat(30),
    });
    assert.throws(
      () => project({ STACK_DIR: `${dir}/none` }),
      (e) => e instanceof CliError && e.code === "no_project",
    );
    assert.throws(
      () => project({ SUPABASE_URL: "not a url", SUPABASE_PUBLISHABLE_KEY: KEY }),
      (e) => e instanceof CliError && e.code === "no_project",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("subs config: the config folder", () => {
  assert.equal(configDir({ SUBS_CONFIG_DIR: "/x" }), "/x");
  assert.equal(configDir({ XDG_CONFIG_HOME: "/c" }), "/c/ai-subs");
  assert.equal(configDir({ HOME: "/h" }), "/h/.config/ai-subs");
});

Deno.test("subs errors: the engine's hint is the code, its message shown as is", () => {
  const e = fromApiError({
    code: "PT429",
    hint: "queue_full",
    message: "3 jobs are processing; try again in a few minutes.",
  });
  assert.equal(e.code, "queue_full");
  assert.equal(e.message, "3 jobs are processing; try again in a few minutes.");
  assert.equal(
    fromApiError({ code: "42501", hint: null, message: "permission denied" }).code,
    "internal",
  );
});
