/**
 * What the pipeline suites share: a signed-in user with uploaded recordings (chunk manifests
 * of tiny real audio, like the web app uploads), job submission the way a client submits
 * (supabase-js insert under RLS), how it waits for them, and temporary engine settings.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type postgres from "postgres";
import { makeM4a, makeSilence } from "../ship/asr/fixtures.ts";
import type { FakeServer } from "../tests/fakes/fake_server.ts";
import { signedInClient } from "../tests/support/stack_env.ts";
import type { WaitOptions } from "../tests/support/submissions.ts";

/** A user with recordings of 1 and of 6 ten-minute chunks in their storage folder. */
export interface BenchUploads {
  client: SupabaseClient;
  userId: string;
  /** Manifest of a recording of `chunks` chunks of 600 s each. */
  manifestPath(chunks: 1 | 6): string;
}

const CHUNK_SECONDS = 600;

/**
 * Signs in a fresh anonymous user and uploads, through Storage, one 10-minute AAC chunk
 * (real audio of the declared length: prepare probes each chunk against its window; the scripted
 * provider answers with its own latency, so the content only has
 * to be valid) and two manifests that describe 10-minute chunks: 1 chunk and 6 chunks (60 min).
 */
export async function prepareUploads(): Promise<BenchUploads> {
  const { client, userId } = await signedInClient();
  const dir = await Deno.makeTempDir({ prefix: "bench-media-" });
  let chunk: Uint8Array;
  try {
    await makeSilence(CHUNK_SECONDS, `${dir}/silence.wav`);
    await makeM4a(`${dir}/silence.wav`, `${dir}/chunk.m4a`);
    chunk = await Deno.readFile(`${dir}/chunk.m4a`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const folder = `${userId}/${crypto.randomUUID()}`;
  const upload = async (path: string, body: Uint8Array, contentType: string) => {
    const { error } = await client.storage.from("media").upload(path, body, { contentType });
    if (error) throw new Error(`upload ${path}: ${error.message}`);
  };
  const manifests = new Map<number, string>();
  for (const chunks of [1, 6]) {
    const paths = Array.from({ length: chunks }, (_, i) => `${folder}/chunk-${chunks}-${i}.m4a`);
    for (const path of paths) await upload(path, chunk, "audio/mp4");
    const manifest = {
      version: 1,
      source: { filename: `bench-${chunks}.mp4`, duration: chunks * CHUNK_SECONDS },
      audio: { codec: "aac", container: "mp4" },
      chunks: paths.map((path, index) => ({
        index,
        path,
        start: index * CHUNK_SECONDS,
        end: (index + 1) * CHUNK_SECONDS,
        overlap_before: 0,
      })),
    };
    const path = `${folder}/manifest-${chunks}.json`;
    await upload(path, new TextEncoder().encode(JSON.stringify(manifest)), "application/json");
    manifests.set(chunks, path);
  }
  return { client, userId, manifestPath: (chunks) => manifests.get(chunks)! };
}

/**
 * Submits a job for one of the uploaded recordings as the web app does. Every job gets a
 * fresh media hash, so deduplication never answers from a cached result.
 */
export async function submitJob(uploads: BenchUploads, chunks: 1 | 6): Promise<string> {
  const sha256 = Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const { data, error } = await uploads.client.from("jobs").insert({
    filename: `bench-${chunks}.mp4`,
    media: { path: uploads.manifestPath(chunks), bytes: 1000, sha256, duration: chunks * 600 },
    options: { language: "en" },
  }).select("id").single();
  if (error || !data) throw new Error(`submitting a job: ${error?.message}`);
  return data.id as string;
}

/**
 * How the bench waits for its jobs (waitForJobs of scripts/tests/support/submissions.ts, through
 * SQL): every job must complete, and the poll is short since end-to-end times are measured.
 */
export const UNTIL_COMPLETED: WaitOptions = {
  mustComplete: true,
  intervalMs: 50,
  timeoutMs: 120_000,
};

type Settings = Record<string, number | string>;

/**
 * Changes private.settings for the length of `body` and puts the old values back afterwards,
 * whatever happens.
 */
export async function withSettings<T>(
  sql: postgres.Sql,
  changes: Settings,
  body: () => Promise<T>,
): Promise<T> {
  const columns = Object.keys(changes);
  const [old] = await sql<Settings[]>`select ${sql(columns)} from private.settings`;
  await sql`update private.settings set ${sql(changes, ...columns)}`;
  try {
    return await body();
  } finally {
    await sql`update private.settings set ${sql(old, ...columns)}`;
  }
}

/** The provider fake, or an explanation of why a suite that needs it cannot run. */
export function requireProvider(provider: FakeServer | undefined): FakeServer {
  if (!provider) {
    throw new Error(
      "this suite needs the stack started by `deno task bench` (its step functions must " +
        "transcribe with the bench's scripted provider); stop the running bench stack and retry",
    );
  }
  return provider;
}

/**
 * Proves the step functions really called the fake (a stack started elsewhere, or a
 * supabase/functions/.env that overrides the provider, would make the figures meaningless).
 */
export function assertProviderUsed(provider: FakeServer, before: number, expected: number) {
  const got = provider.requests.length - before;
  if (got < expected) {
    throw new Error(
      `the step functions made ${got} requests to the bench provider, expected ${expected}: ` +
        "is TRANSCRIBE_PROVIDER overridden in supabase/functions/.env?",
    );
  }
}
