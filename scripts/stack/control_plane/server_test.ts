/**
 * The local Management API's answers to bad input, called as the CLI calls it: the hosted
 * error shape (`{"message"}`) and status, and nothing live changes on any error.
 * (The real CLI against it: scripts/tests/conformance/deploy_test.ts.)
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { stackConfig } from "../config.ts";
import type { KeyRing } from "../keys.ts";
import { type ControlPlane, createControlPlane } from "./server.ts";

const keys = {
  legacy: false,
  keys: {
    publishableKey: "sb_publishable_test",
    secretKey: "sb_secret_test",
    anonKey: "",
    serviceRoleKey: "",
    jwtSecret: "",
  },
} as unknown as KeyRing;

async function withControlPlane(
  run: (cp: ControlPlane, call: Caller, deployed: string[][]) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "control_plane_" });
  try {
    const deployed: string[][] = [];
    const cp = await createControlPlane({
      config: stackConfig({ STACK_DIR: dir }),
      keys,
      admin: null as unknown as postgres.Sql,
      onDeployed: (slugs) => void deployed.push(slugs),
    });
    const call: Caller = async (method, path, body, token = cp.identity.accessToken) => {
      const res = await cp.handle(
        new Request(`http://127.0.0.1/v1/projects/${cp.identity.ref}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}` },
          body: body instanceof FormData || typeof body === "string"
            ? body
            : body === undefined
            ? undefined
            : JSON.stringify(body),
        }),
      );
      return { status: res.status, body: await res.json() };
    };
    await run(cp, call, deployed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type Caller = (
  method: string,
  path: string,
  body?: unknown,
  token?: string,
) => Promise<{ status: number; body: Record<string, unknown> }>;

function upload(files: Record<string, string>, metadata: unknown): FormData {
  const form = new FormData();
  form.set("metadata", typeof metadata === "string" ? metadata : JSON.stringify(metadata));
  for (const [name, text] of Object.entries(files)) {
    form.append("file", new File([text], name));
  }
  return form;
}

const hello = {
  "supabase/functions/hello/index.ts": "Deno.serve(() => new Response('v1'));",
  "supabase/functions/hello/deno.json": '{"imports": {}}',
};
const helloMeta = {
  name: "hello",
  entrypoint_path: "supabase/functions/hello/index.ts",
  import_map_path: "supabase/functions/hello/deno.json",
  verify_jwt: false,
};

Deno.test("a token that is not the project's is 401, an unknown project 404", async () => {
  await withControlPlane(async (cp, call) => {
    const malformed = await call("GET", "", undefined, "sbp_short");
    assert.deepEqual(malformed, { status: 401, body: { message: "Unauthorized" } });
    const other = await call("GET", "", undefined, `sbp_${"0".repeat(40)}`);
    assert.equal(other.status, 401);
    const ok = await call("GET", "");
    assert.equal(ok.status, 200);
    assert.equal(ok.body.ref, cp.identity.ref);
    const res = await cp.handle(
      new Request("http://127.0.0.1/v1/projects/zzzzzzzzzzzzzzzzzzzz", {
        headers: { authorization: `Bearer ${cp.identity.accessToken}` },
      }),
    );
    assert.equal(res.status, 404);
    assert.match((await res.json()).message, /not found/);
  });
});

Deno.test("one function deploys live (201); a bad upload is 400 and changes nothing", async () => {
  await withControlPlane(async (_cp, call, deployed) => {
    const first = await call("POST", "/functions/deploy?slug=hello", upload(hello, helloMeta));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.version, 1);
    assert.equal(first.body.verify_jwt, false);
    assert.deepEqual(deployed, [["hello"]]);

    const bad: [string, FormData | string][] = [
      ["not multipart", "{}"],
      ["metadata not JSON", upload(hello, "{")],
      ["no entrypoint", upload(hello, { name: "hello" })],
      [
        "entrypoint not uploaded",
        upload(hello, { ...helloMeta, entrypoint_path: "supabase/functions/hello/main.ts" }),
      ],
      ["import map not uploaded", upload(hello, { ...helloMeta, import_map_path: "x.json" })],
      ["file outside the bundle", upload({ ...hello, "../../etc/x.ts": "" }, helloMeta)],
    ];
    for (const [what, body] of bad) {
      const res = await call("POST", "/functions/deploy?slug=hello", body);
      assert.equal(res.status, 400, what);
      assert.equal(typeof res.body.message, "string", what);
    }
    const badSlug = await call("POST", "/functions/deploy?slug=1-bad", upload(hello, helloMeta));
    assert.equal(badSlug.status, 400);
    assert.deepEqual(deployed, [["hello"]]);
    const live = await call("GET", "/functions/hello");
    assert.equal(live.status, 200);
    assert.equal(live.body.version, 1);
    assert.equal((await call("GET", "/functions/nope")).status, 404);
  });
});

Deno.test("bundleOnly uploads go live only with PUT /functions; an unknown slug is 404", async () => {
  await withControlPlane(async (cp, call, deployed) => {
    await call("POST", "/functions/deploy?slug=hello", upload(hello, helloMeta));
    const v2 = await call(
      "POST",
      "/functions/deploy?slug=hello&bundleOnly=true",
      upload({ ...hello, "supabase/functions/hello/index.ts": "// v2" }, helloMeta),
    );
    assert.equal(v2.status, 201);
    assert.equal(v2.body.version, 2);
    assert.equal((await call("GET", "/functions/hello")).body.version, 1, "live before PUT");

    const unknown = await call("PUT", "/functions", [v2.body, {
      ...v2.body,
      slug: "never-uploaded",
    }]);
    assert.equal(unknown.status, 404);
    assert.equal(typeof unknown.body.message, "string");
    assert.equal((await call("GET", "/functions/hello")).body.version, 1, "nothing changed");
    assert.equal((await call("PUT", "/functions", "[{")).status, 400);

    const put = await call("PUT", "/functions", [v2.body]);
    assert.equal(put.status, 200);
    assert.equal((await call("GET", "/functions/hello")).body.version, 2);
    assert.deepEqual(deployed, [["hello"], ["hello"]]);
    const upload2 = cp.store.resolve((await cp.store.active()).hello);
    assert.equal(await Deno.readTextFile(upload2.entrypoint), "// v2");
  });
});

Deno.test("secrets are stored, listed as digests, and SUPABASE_ names refused", async () => {
  await withControlPlane(async (cp, call) => {
    const set = await call("POST", "/secrets", [{ name: "OPENAI_API_KEY", value: "sk-1" }]);
    assert.equal(set.status, 201);
    assert.deepEqual(await cp.store.secrets(), { OPENAI_API_KEY: "sk-1" });
    const listed = await call("GET", "/secrets");
    const [entry] = listed.body as unknown as { name: string; value: string }[];
    assert.equal(entry.name, "OPENAI_API_KEY");
    assert.notEqual(entry.value, "sk-1");
    const refused = await call("POST", "/secrets", [{ name: "SUPABASE_URL", value: "x" }]);
    assert.equal(refused.status, 400);
    assert.deepEqual(await cp.store.secrets(), { OPENAI_API_KEY: "sk-1" });
  });
});
