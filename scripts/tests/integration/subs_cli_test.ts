/**
 * Integration: `deno task subs` as a user runs it, a child process against the stack with its
 * own config folder. A 12-minute MP4 (speech before and after the 10-minute cut) is submitted;
 * the process is killed with SIGKILL in the middle of its upload; `--resume` in a new process
 * continues from what the server holds and the SRT lands beside the video with the spoken
 * words. Then list/get/cancel, Ctrl-C leaving a job running, and a friendly error code.
 */
import { Manifest } from "../../../supabase/functions/_shared/engine/contract.ts";
import { join } from "node:path";
import { TUS_CHUNK_BYTES } from "../../../web/src/media/tus_upload.ts";
import { uploadFile } from "../../ship/subs/tus.ts";
import { adminSql, serviceClient, signedInClient, stackEnv } from "../support/stack_env.ts";
import { assert } from "../support/submissions.ts";
import { makeSpokenVideo } from "../support/video_fixtures.ts";

const root = new URL("../../..", import.meta.url).pathname;
const RUN = Date.now() % 100_000;
const FIRST = `The baker opens his shop before sunrise and the smell of fresh bread drifts along ` +
  `the quiet street. Number ${RUN}.`;
const SECOND = "Children carry their books to school and talk about the games they will play.";

type Event = Record<string, unknown> & { event?: string };

/**
 * A pass-through HTTP proxy to the stack that can hold a TUS PATCH: `holdPatch(n)` makes the
 * n-th PATCH wait (never forwarded) and resolves when it arrives, so a test can kill the client
 * exactly between two PATCHes. TUS Location headers are rewritten to the proxy.
 */
function stackProxy(upstream: string) {
  let patches = 0;
  let holdAt = 0;
  let arrived: () => void = () => {};
  let release: () => void = () => {};
  const released = new Promise<void>((r) => (release = r));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method === "PATCH" && ++patches === holdAt) {
      arrived();
      await released;
      return new Response(null, { status: 503 });
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    const response = await fetch(upstream + url.pathname + url.search, {
      method: req.method,
      headers,
      body: req.body,
      redirect: "manual",
    });
    const out = new Headers(response.headers);
    const location = out.get("location");
    if (location) out.set("location", location.replace(upstream, origin));
    return new Response(response.body, { status: response.status, headers: out });
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    origin,
    holdPatch(n: number): Promise<void> {
      holdAt = n;
      return new Promise<void>((r) => (arrived = r));
    },
    async close() {
      release();
      await server.shutdown();
    },
  };
}

/** The CLI's environment: the project (publishable key, or anon before the rename), a config. */
function cliEnv(config: string, url?: string): Record<string, string> {
  const env = stackEnv() as unknown as Record<string, string>;
  return {
    SUPABASE_URL: url ?? env.SUPABASE_URL,
    SUPABASE_PUBLISHABLE_KEY: env.SUPABASE_PUBLISHABLE_KEY ?? env.SUPABASE_ANON_KEY,
    SUBS_CONFIG_DIR: config,
    NO_COLOR: "1",
  };
}

/** Runs the CLI; `onEvent` sees each --json line as it comes and may kill the process. */
async function subs(
  config: string,
  args: string[],
  signal?: { name: Deno.Signal; when: (e: Event) => boolean },
  o: { url?: string; started?: (child: Deno.ChildProcess) => void } = {},
): Promise<{ code: number; events: Event[]; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(root, "scripts/ship/subs/main.ts"), ...args],
    env: cliEnv(config, o.url),
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  o.started?.(child);
  const events: Event[] = [];
  const stderr = new Response(child.stderr).text();
  let buffered = "";
  let signalled = false;
  for await (const bytes of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffered += bytes;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.trim()) continue;
      const event = JSON.parse(line) as Event;
      events.push(event);
      if (signal && !signalled && signal.when(event)) {
        signalled = true;
        child.kill(signal.name);
      }
    }
  }
  const status = await child.status;
  return { code: status.code, events, stderr: await stderr };
}

Deno.test("subs: a 12-minute MP4 becomes an SRT on disk, through a killed and resumed upload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-cli-" });
  const config = join(dir, "config");
  const sql = adminSql();
  // The upload URLs of the first run point at the proxy; the resumed run goes on through it.
  const proxy = stackProxy(stackEnv().SUPABASE_URL);
  try {
    const video = await makeSpokenVideo(join(dir, "lecture.mp4"), {
      duration: 720,
      speech: [[4, FIRST], [640, SECOND]],
      videoBitrate: "300k",
      audioBitrate: "48k",
    });

    // Killed (SIGKILL: no chance to tidy up) while its second PATCH is on the way.
    const held = proxy.holdPatch(2);
    const first = await subs(
      config,
      [video.path, "--language", "en", "--format", "srt,vtt", "--json"],
      undefined,
      {
        url: proxy.origin,
        started: (child) => void held.then(() => child.kill("SIGKILL")),
      },
    );
    assert(
      first.code !== 0,
      `the first run was not killed: ${JSON.stringify(first.events.at(-1))}`,
    );
    assert(!first.events.some((e) => e.event === "job"), "the job was inserted before the kill");
    // The first chunk was stored whole before the kill (TUS PATCHes of this fixture's small
    // chunks are one per chunk); the second one's PATCH never arrived.
    const stored = first.events.filter((e) => e.event === "upload" && e.chunk_done);
    assert(stored.length === 1, `chunks stored before the kill: ${JSON.stringify(stored)}`);

    const second = await subs(config, ["--resume", "--json"]);
    assert(
      second.code === 0,
      `resume failed (${second.code}): ${second.stderr} ${JSON.stringify(second.events.at(-1))}`,
    );
    // It went on from what the server holds: the stored chunk is not sent again.
    const resumedUploads = second.events.filter((e) => e.event === "upload");
    assert(
      resumedUploads[0]?.bytes === stored[0].bytes &&
        !resumedUploads.some((e) => e.chunk === "chunk-000.m4a"),
      `the resumed run sent again what the server held: ${JSON.stringify(resumedUploads)}`,
    );
    const done = second.events.find((e) => e.event === "done") as
      | { results: { status: string; job_id: string; files: string[] }[] }
      | undefined;
    const result = done?.results[0];
    assert(result?.status === "completed", `resumed run: ${JSON.stringify(done)}`);
    const srtPath = join(dir, "lecture.srt");
    assert(
      result.files.includes(srtPath) && result.files.includes(join(dir, "lecture.vtt")),
      `files ${result.files}`,
    );

    // The words, on both sides of the 10-minute cut.
    const srt = await Deno.readTextFile(srtPath);
    const cues = srt.split(/\r?\n\r?\n/).filter(Boolean);
    const early = cues.filter((c) => /^\d+\r?\n00:00:/.test(c)).join(" ").toLowerCase();
    const late = cues.filter((c) => /^\d+\r?\n00:1[01]:/.test(c)).join(" ").toLowerCase();
    assert(["baker", "bread", "street", "shop"].some((w) => early.includes(w)), `early: ${srt}`);
    assert(["children", "books", "school", "games"].some((w) => late.includes(w)), `late: ${srt}`);

    // What reached Storage is the web app's layout: 2 chunks and a valid manifest, no video.
    const [job] = await sql`select media, owner_id from public.jobs where id = ${result.job_id}`;
    const { data: blob, error } = await serviceClient().storage.from("media").download(
      job.media.path,
    );
    if (error) throw error;
    const manifest = Manifest.parse(JSON.parse(await blob.text()));
    assert(manifest.chunks.length === 2, `${manifest.chunks.length} chunks`);
    assert(manifest.chunks[1].overlap_before > 2.9, JSON.stringify(manifest.chunks[1]));
    const objects = await sql`select (metadata->>'size')::bigint as size from storage.objects
      where bucket_id = 'media' and name like ${
      job.media.path.replace(/manifest\.json$/, "") + "%"
    }`;
    assert(objects.length === 3, `${objects.length} objects`);
    const uploaded = objects.reduce((n, o) => n + Number(o.size), 0);
    assert(uploaded * 2 < video.bytes, `uploaded ${uploaded} of a ${video.bytes}-byte video`);
    // The recording hash, computed here independently of recording_hash.ts: SHA-256 over the
    // concatenated SHA-256 digests of the file's 8 MiB slices.
    const bytes = await Deno.readFile(video.path);
    const slice = 8 * 1024 * 1024;
    const digests: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += slice) {
      digests.push(
        new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.subarray(at, at + slice))),
      );
    }
    const joined = new Uint8Array(digests.length * 32);
    digests.forEach((d, i) => joined.set(d, i * 32));
    const digest = await crypto.subtle.digest("SHA-256", joined);
    const sha256 = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(
      "",
    );
    assert(job.media.sha256 === sha256, `sha256 ${job.media.sha256} ≠ ${sha256}`);
    // Nothing is left to resume.
    const none = await subs(config, ["--resume", "--json"]);
    assert(
      none.events.some((e) => e.message === "Nothing to resume."),
      JSON.stringify(none.events),
    );

    // Later runs are the same user: list and get see the job; get writes a format on demand.
    const listed = await subs(config, ["list", "--json"]);
    const rows = listed.events as unknown as { id: string }[][];
    assert(rows[0].some((r) => r.id === result.job_id), `list: ${JSON.stringify(rows)}`);
    const out = join(dir, "out");
    const got = await subs(config, [
      "get",
      result.job_id,
      "--format",
      "vtt",
      "--out",
      out,
      "--json",
    ]);
    const gotJob = got.events[0] as { status: string; files: string[] };
    assert(
      gotJob.status === "completed" && gotJob.files[0] === join(out, "lecture.vtt"),
      JSON.stringify(gotJob),
    );
    assert((await Deno.readTextFile(join(out, "lecture.vtt"))).startsWith("WEBVTT"), "vtt content");
  } finally {
    await proxy.close();
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("subs: Ctrl-C leaves a job running, cancel stops it, errors carry stable codes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-cli-" });
  const config = join(dir, "config");
  try {
    const video = await makeSpokenVideo(join(dir, "clip.mp4"), {
      duration: 90,
      speech: [[2, `A short clip, number ${RUN} of the day.`]],
      videoBitrate: "100k",
      audioBitrate: "48k",
    });
    // Ctrl-C while following, with no terminal to ask on: the job is left running.
    const interrupted = await subs(config, [video.path, "--json"], {
      name: "SIGINT",
      when: (e) => e.event === "job",
    });
    assert(interrupted.code === 130, `exit ${interrupted.code}: ${interrupted.stderr}`);
    const id = interrupted.events.find((e) => e.event === "job")!.id as string;
    assert(interrupted.stderr.includes(`Left running: job ${id}`), interrupted.stderr);
    const cancelled = await subs(config, ["cancel", id, "--json"]);
    const row = cancelled.events[0] as { status?: string; error?: { code: string } };
    // The short clip may have finished in the meantime: then cancel says invalid_state.
    assert(
      row.status === "cancelled" || row.error?.code === "invalid_state",
      `cancel: ${JSON.stringify(cancelled.events)}`,
    );

    // The product's friendly message and stable code, before anything is hashed or uploaded.
    const refused = await subs(config, [video.path, "--language", "zz", "--json"]);
    const error = refused.events.at(-1)?.error as { code: string; message: string } | undefined;
    assert(refused.code === 1, `exit ${refused.code}`);
    assert(error?.code === "unsupported_language", JSON.stringify(refused.events));
    assert(error.message.startsWith("options.language:"), error.message);
    assert(!refused.events.some((e) => e.event === "hashing"), JSON.stringify(refused.events));
    const unknown = await subs(config, ["get", crypto.randomUUID(), "--json"]);
    assert(unknown.code === 1, `exit ${unknown.code}`);
    assert(
      (unknown.events[0].error as { code: string }).code === "not_found",
      JSON.stringify(unknown.events),
    );
    const badFormat = await subs(config, [video.path, "--format", "docx", "--json"]);
    assert(
      badFormat.code === 1 &&
        (badFormat.events.at(-1)?.error as { code?: string })?.code === "invalid_options",
      JSON.stringify(badFormat.events),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("subs TUS: an upload cut after its first 6 MB PATCH continues at the server's offset", async () => {
  const env = stackEnv() as unknown as Record<string, string>;
  const { client, userId } = await signedInClient();
  const token = (await client.auth.getSession()).data.session!.access_token;
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-tus-" });
  const proxy = stackProxy(env.SUPABASE_URL);
  try {
    const bytes = new Uint8Array(TUS_CHUNK_BYTES + 1_500_000);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    }
    const file = join(dir, "audio.m4a");
    await Deno.writeFile(file, bytes);
    const objectName = `${userId}/${crypto.randomUUID()}/chunk-000.m4a`;
    let uploadUrl: string | undefined;
    const upload = {
      supabaseUrl: proxy.origin,
      apiKey: env.SUPABASE_PUBLISHABLE_KEY ?? env.SUPABASE_ANON_KEY,
      accessToken: () => Promise.resolve(token),
      bucket: "media",
      objectName,
      contentType: "audio/mp4",
      file,
      bytes: bytes.length,
      onUrl: (url: string) => void (uploadUrl = url),
    };
    // The second PATCH never reaches the server; the client gives up on it (as if killed).
    const stop = new AbortController();
    void proxy.holdPatch(2).then(() => stop.abort());
    let stopped = false;
    await uploadFile({ ...upload, onProgress: () => {}, signal: stop.signal }).catch(
      () => (stopped = true),
    );
    assert(stopped && uploadUrl, "the first attempt was not stopped");

    let resumedAt: number | undefined;
    await uploadFile({ ...upload, uploadUrl, onProgress: (_o, at) => (resumedAt ??= at) });
    assert(resumedAt === TUS_CHUNK_BYTES, `resumed at ${resumedAt}, expected ${TUS_CHUNK_BYTES}`);
    const { data, error } = await client.storage.from("media").download(objectName);
    if (error) throw error;
    const stored = new Uint8Array(await data.arrayBuffer());
    assert(
      stored.length === bytes.length && stored.every((b, i) => b === bytes[i]),
      "stored bytes differ",
    );
  } finally {
    await proxy.close();
    await Deno.remove(dir, { recursive: true });
  }
});
