/**
 * Integration (issue 24, part 3): `deno task subs` refuses what cannot work before it hashes or
 * uploads anything — an unknown preset, language or number (the server's own validation,
 * rpc check_options), a file without an audio track — with the reason and its stable code, and
 * leaves nothing in Storage.
 */
import { join } from "node:path";
import { adminSql, stackEnv } from "../support/stack_env.ts";
import { assert } from "../support/submissions.ts";
import { mp4WithoutAudio } from "../support/recordings.ts";

const root = new URL("../../..", import.meta.url).pathname;
type Event = Record<string, unknown> & { event?: string };

async function subs(config: string, args: string[], extra: Record<string, string> = {}) {
  const env = stackEnv() as unknown as Record<string, string>;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(root, "scripts/ship/subs/main.ts"), ...args],
    env: {
      SUPABASE_URL: env.SUPABASE_URL,
      SUPABASE_PUBLISHABLE_KEY: env.SUPABASE_PUBLISHABLE_KEY ?? env.SUPABASE_ANON_KEY,
      SUBS_CONFIG_DIR: config,
      NO_COLOR: "1",
      ...extra,
    },
    cwd: root,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const events = text.split("\n").filter((l) => l.trim().startsWith("{")).map((l) =>
    JSON.parse(l) as Event
  );
  return { code: out.code, events, stdout: text, stderr: new TextDecoder().decode(out.stderr) };
}

/** The objects in the media bucket under the CLI user's folder (its session file's user). */
async function objectsOf(config: string): Promise<number> {
  const sessions = [...Deno.readDirSync(config)].filter((e) => e.name.startsWith("session-"));
  const session = JSON.parse(await Deno.readTextFile(join(config, sessions[0].name)));
  const stored = JSON.parse(Object.values(session)[0] as string) as { user: { id: string } };
  const sql = adminSql();
  try {
    const [{ n }] = await sql`select count(*)::int as n from storage.objects
      where bucket_id = 'media' and name like ${stored.user.id + "/%"}`;
    return n;
  } finally {
    await sql.end();
  }
}

Deno.test("subs: an unknown preset or language is refused before anything is read or sent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-checks-" });
  const config = join(dir, "config");
  try {
    const video = join(dir, "silent-film.mp4");
    await mp4WithoutAudio(video, 3);
    for (
      const [args, code, text] of [
        [["--preset", "netflix"], "invalid_options", "netflix_en"],
        [["--language", "zz"], "unsupported_language", "options.language:"],
        [["--speakers", "40"], "invalid_options", "options.num_speakers:"],
      ] as const
    ) {
      const refused = await subs(config, [video, ...args, "--json"]);
      const error = refused.events.at(-1)?.error as { code: string; message: string } | undefined;
      assert(refused.code === 1, `${args}: exit ${refused.code}: ${refused.stderr}`);
      assert(error?.code === code, `${args}: ${JSON.stringify(refused.events)}`);
      assert(error.message.includes(text), `${args}: ${error.message}`);
      // Not even the file was looked at: no "file" event, so no hashing and no upload.
      assert(refused.events.every((e) => e.event !== "file"), JSON.stringify(refused.events));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("subs: a video without an audio track is refused with the reason, nothing uploaded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-checks-" });
  const config = join(dir, "config");
  try {
    const video = join(dir, "silent-film.mp4");
    await mp4WithoutAudio(video, 3);
    for (const extractor of ["ffmpeg", "mediabunny"]) {
      const run = await subs(config, [video, "--json"], { SUBS_EXTRACTOR: extractor });
      const done = run.events.find((e) => e.event === "done") as {
        results: { error?: { code: string; message: string } }[];
      };
      assert(run.code === 1, `${extractor}: exit ${run.code}: ${run.stderr}`);
      assert(done.results[0].error?.code === "no_audio", JSON.stringify(done));
      assert(/no sound track/.test(done.results[0].error.message), done.results[0].error.message);
      assert(!run.events.some((e) => e.event === "hashing" || e.event === "upload"), run.stdout);
    }
    assert((await objectsOf(config)) === 0, "nothing was uploaded");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
