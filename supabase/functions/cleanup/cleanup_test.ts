import assert from "node:assert/strict";
import type { Client } from "../_shared/engine/supabase_client.ts";
import { cleanupHandler, cleanupJobs } from "./cleanup.ts";

const jobA = crypto.randomUUID();
const jobB = crypto.randomUUID();
const quiet = { info() {}, error() {}, with: () => quiet };

/** An in-memory bucket and the two SQL entry points, recording what cleanup asks for. */
function fakeSupabase(
  objects: string[],
  targets: unknown[],
  failRemoveOf: string | null = null,
) {
  const store = new Set(objects);
  const purgedWith: string[][] = [];
  const client = {
    rpc(fn: string, args: { job_ids: string[] }) {
      if (fn === "cleanup_targets") return Promise.resolve({ data: targets, error: null });
      if (fn === "purge_jobs") {
        purgedWith.push(args.job_ids);
        return Promise.resolve({ data: args.job_ids.length, error: null });
      }
      throw new Error(`unexpected rpc ${fn}`);
    },
    storage: {
      from: () => ({
        list(folder: string, { limit, offset }: { limit: number; offset: number }) {
          const children = new Map<string, string | null>();
          for (const name of store) {
            if (!name.startsWith(`${folder}/`)) continue;
            const rest = name.slice(folder.length + 1);
            const slash = rest.indexOf("/");
            if (slash < 0) children.set(rest, "id");
            else children.set(rest.slice(0, slash), null);
          }
          const page = [...children].sort().slice(offset, offset + limit)
            .map(([name, id]) => ({ name, id }));
          return Promise.resolve({ data: page, error: null });
        },
        remove(names: string[]) {
          if (failRemoveOf && names.some((n) => n.startsWith(failRemoveOf))) {
            return Promise.resolve({ data: null, error: new Error("storage is down") });
          }
          const gone = names.filter((n) => store.delete(n)).map((name) => ({ name }));
          return Promise.resolve({ data: gone, error: null });
        },
      }),
    },
  } as unknown as Client;
  return { client, store, purgedWith };
}

Deno.test("cleanup removes every object under the folder (sub-folders too) and referenced paths, then purges", async () => {
  const { client, store, purgedWith } = fakeSupabase(
    ["u/a/manifest.json", "u/a/chunk-000.m4a", "u/a/deep/x.bin", "u/x/c1.m4a", "u/keep/y.json"],
    [{ job_id: jobA, bucket: "media", prefix: "u/a/", paths: ["u/x/c1.m4a"] }],
  );
  const report = await cleanupJobs(client, [jobA], quiet);
  assert(report.removed === 4 && report.purged === 1, JSON.stringify(report));
  assert([...store].join() === "u/keep/y.json", `left: ${[...store]}`);
  assert(purgedWith.length === 1 && purgedWith[0][0] === jobA, JSON.stringify(purgedWith));
});

Deno.test("a job whose objects could not be removed keeps its rows; the others are purged", async () => {
  const { client, store, purgedWith } = fakeSupabase(
    ["u/a/1.m4a", "u/b/1.m4a"],
    [
      { job_id: jobA, bucket: "media", prefix: "u/a/", paths: [] },
      { job_id: jobB, bucket: "media", prefix: "u/b/", paths: [] },
    ],
    "u/a/",
  );
  const report = await cleanupJobs(client, [jobA, jobB], quiet);
  assert(report.failed.length === 1 && report.failed[0].job_id === jobA, JSON.stringify(report));
  assert(purgedWith.flat().join() === jobB, `purged ${purgedWith}`);
  assert(store.has("u/a/1.m4a") && !store.has("u/b/1.m4a"), `left: ${[...store]}`);
});

Deno.test("a run with nothing left to do (already cleaned) purges nothing and fails nothing", async () => {
  const { client, purgedWith } = fakeSupabase([], []);
  const report = await cleanupJobs(client, [jobA], quiet);
  assert(report.purged === 0 && report.failed.length === 0, JSON.stringify(report));
  assert(purgedWith.length === 0, "purge_jobs called with nothing to purge");
});

Deno.test("a job whose folder is shared (prefix null) loses only its own paths", async () => {
  const { client, store } = fakeSupabase(
    ["u/a/manifest.json", "u/a/other-job.m4a"],
    [{ job_id: jobA, bucket: "media", prefix: null, paths: [] }],
  );
  const report = await cleanupJobs(client, [jobA], quiet);
  assert(report.purged === 1 && store.size === 2, `${JSON.stringify(report)} ${[...store]}`);
});

const SECRET = "sb_secret_cleanup_unit_key_00000000000";
Deno.env.set("SUPABASE_URL", "http://127.0.0.1:9");
Deno.env.set("SUPABASE_SECRET_KEYS", JSON.stringify({ default: SECRET }));

Deno.test("the cleanup endpoint is for the secret key, with a validated body", async () => {
  const { client } = fakeSupabase([], []);
  const handle = cleanupHandler(() => client);
  const post = (headers: Record<string, string>, body: unknown) =>
    handle(
      new Request("http://x/cleanup", { method: "POST", headers, body: JSON.stringify(body) }),
    );
  const userJwt = "eyJhbGciOiJFUzI1NiJ9.eyJyb2xlIjoiYXV0aGVudGljYXRlZCJ9.x";
  const ok = { job_ids: [jobA] };
  assert((await post({}, ok)).status === 401, "no key accepted");
  assert((await post({ apikey: "sb_publishable_x" }, ok)).status === 401, "publishable accepted");
  assert((await post({ authorization: `Bearer ${userJwt}` }, ok)).status === 401, "user accepted");
  const key = { apikey: SECRET };
  assert((await post(key, { job_ids: ["nope"] })).status === 400, "bad ids accepted");
  assert((await post(key, { job_ids: [] })).status === 400, "empty batch accepted");
  assert((await post(key, ok)).status === 202, "valid call refused");
});
