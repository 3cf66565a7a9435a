/**
 * Conformance: the key model of a Supabase project created today — access tokens signed with an
 * asymmetric key (ES256) that carry its `kid`; the JWKS serves public parts only; the API
 * gateway takes the publishable key (role anon) and the secret key (role service_role) in
 * `apikey` on REST, Storage, Realtime, Functions and Auth, and refuses unknown keys with 401;
 * user JWTs are verified against the JWKS; a step function refuses a user's token and the
 * publishable key and accepts only the secret key. In the legacy run (STACK_LEGACY_KEYS=1) the
 * legacy HS256 keys work as well and tokens are HS256 (kid "legacy").
 */
import assert from "node:assert/strict";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { createClient } from "@supabase/supabase-js";
import { adminSql, apiKeys, legacyKeys, signedInUser, stackEnv } from "../support/stack_env.ts";
import { localKeyRing, mintToken } from "../support/mint.ts";

const url = (path: string) => `${stackEnv().SUPABASE_URL}${path}`;
const fn = `conformance_keys_whoami_${crypto.randomUUID().slice(0, 8)}`;

async function status(path: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url(path), init);
  await res.body?.cancel();
  return res.status;
}

async function jwks(): Promise<{ keys: Record<string, unknown>[] }> {
  const res = await fetch(url("/auth/v1/.well-known/jwks.json"));
  assert(res.status === 200, `JWKS without apikey: ${res.status}`);
  return await res.json();
}

const PRIVATE = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

Deno.test("the JWKS is public (no apikey) and holds public keys only", async () => {
  const set = await jwks();
  assert(set.keys.length > 0, "no keys");
  for (const key of set.keys) {
    for (const member of PRIVATE) assert(!(member in key), `JWKS key ${key.kid} has ${member}`);
    assert(key.kid && key.kty === "EC" && key.crv === "P-256" && key.alg === "ES256", "not ES256");
  }
  assert(new Set(set.keys.map((k) => k.kid)).size === set.keys.length, "kids not unique");
});

Deno.test("access tokens carry a kid and verify against the JWKS (legacy: the JWT secret)", async () => {
  const user = await signedInUser();
  const header = decodeProtectedHeader(user.token);
  assert(typeof header.kid === "string" && header.kid.length > 0, "token has no kid");
  if (legacyKeys()) {
    assert(header.alg === "HS256" && header.kid === "legacy", `legacy header ${header.alg}`);
    return;
  }
  assert(header.alg === "ES256", `alg ${header.alg}`);
  const set = await jwks();
  const { payload } = await jwtVerify(user.token, createLocalJWKSet(set as never), {
    algorithms: ["ES256"],
  });
  assert(payload.sub === user.id && payload.role === "authenticated", "claims");
});

Deno.test("a token signed with a key outside the JWKS, or HS256 without legacy, is refused", async () => {
  const { publishable } = apiKeys();
  const other = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const kid = String((await jwks()).keys[0].kid);
  const foreign = await new SignJWT({ role: "authenticated", sub: crypto.randomUUID() })
    .setProtectedHeader({ alg: "ES256", kid }).setIssuedAt().setExpirationTime("1h")
    .sign(other.privateKey);
  const hs = await new SignJWT({ role: "service_role" })
    .setProtectedHeader({ alg: "HS256", kid: "legacy" }).setIssuedAt().setExpirationTime("1h")
    .sign(new TextEncoder().encode("a-guessed-secret-that-is-long-enough-0123456789"));
  for (const [who, token] of [["foreign ES256 key", foreign], ["HS256, wrong secret", hs]]) {
    const headers = { apikey: publishable, authorization: `Bearer ${token}` };
    assert((await status("/rest/v1/jobs?select=id", { headers })) === 401, `REST ${who}`);
    assert((await status("/auth/v1/user", { headers })) === 401, `Auth ${who}`);
    const storage = await status("/storage/v1/object/list/media", {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ prefix: "" }),
    });
    assert(storage === 401, `Storage ${who}: ${storage}`);
  }
  const ring = await localKeyRing();
  if (ring && !legacyKeys()) {
    // A correctly signed HS256 token with the stack's own legacy secret: refused while off.
    const legacy = await new SignJWT({ role: "service_role" })
      .setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("1h")
      .sign(new TextEncoder().encode(ring.keys.jwtSecret));
    const headers = { apikey: publishable, authorization: `Bearer ${legacy}` };
    assert((await status("/rest/v1/jobs?select=id", { headers })) === 401, "legacy HS256 token");
    const legacyKey = { apikey: ring.keys.anonKey };
    assert((await status("/rest/v1/jobs?select=id", { headers: legacyKey })) === 401, "anon JWT");
  }
});

/** Runs `body` with public.<fn>() (who the request runs as) in place. */
async function withWhoami(body: () => Promise<void>) {
  const sql = adminSql();
  try {
    await sql.unsafe(`
      create function public.${fn}() returns json language sql stable as $$
        select json_build_object('role', current_user, 'uid', auth.uid(),
          'claim', current_setting('request.jwt.claims', true)::json ->> 'role') $$;
      grant execute on function public.${fn}() to anon, authenticated, service_role;`);
    await body();
  } finally {
    await sql.unsafe(`drop function if exists public.${fn}()`);
    await sql.end();
  }
}

Deno.test("REST runs a key-only request as the key's role and a user's JWT as the user", () =>
  withWhoami(async () => {
    const keys = apiKeys();
    const who = async (headers: Record<string, string>) => {
      const res = await fetch(url(`/rest/v1/rpc/${fn}`), {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: "{}",
      });
      assert(res.status === 200, `rpc ${JSON.stringify(Object.keys(headers))}: ${res.status}`);
      return await res.json();
    };
    assert((await who({ apikey: keys.publishable })).role === "anon", "publishable → anon");
    assert((await who({ apikey: keys.secret })).role === "service_role", "secret → service_role");
    // supabase-js sends the key as the bearer too when there is no session.
    const same = await who({ apikey: keys.secret, authorization: `Bearer ${keys.secret}` });
    assert(same.role === "service_role", "secret as bearer too");
    const user = await signedInUser();
    const asUser = await who({ apikey: keys.publishable, authorization: `Bearer ${user.token}` });
    assert(asUser.role === "authenticated" && asUser.uid === user.id, "user JWT → authenticated");
    // The secret key under the publishable apikey (or any mismatch) is refused.
    const mixed = await status(`/rest/v1/rpc/${fn}`, {
      method: "POST",
      headers: {
        apikey: keys.publishable,
        authorization: `Bearer ${stackEnv().SUPABASE_SECRET_KEY}`,
      },
    });
    assert(mixed === 401, `secret bearer under publishable apikey: ${mixed}`);
    // A user's JWT is no API key.
    const jwtAsKey = await status(`/rest/v1/rpc/${fn}`, {
      method: "POST",
      headers: { apikey: user.token },
    });
    assert(jwtAsKey === 401, `a user's JWT as apikey: ${jwtAsKey}`);
    const browser = await status(`/rest/v1/rpc/${fn}`, {
      method: "POST",
      headers: { apikey: stackEnv().SUPABASE_SECRET_KEY, "user-agent": "Mozilla/5.0 (X11)" },
    });
    assert(browser === 401, `the secret key from a browser: ${browser}`);
  }));

Deno.test("every service: no apikey or an unknown one is 401; the project's keys pass", () =>
  withWhoami(async () => {
    const keys = apiKeys();
    const unknown = `${stackEnv().SUPABASE_PUBLISHABLE_KEY.slice(0, -6)}AAAAAA`;
    const services: [string, string, RequestInit][] = [
      ["REST", `/rest/v1/rpc/${fn}`, {}],
      ["Auth", "/auth/v1/settings", {}],
      ["Storage", "/storage/v1/bucket", {}],
      ["Realtime broadcast", "/realtime/v1/api/broadcast", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          messages: [{ topic: "conformance:keys", event: "e", payload: {} }],
        }),
      }],
      ["Functions", "/functions/v1/conformance-open", { method: "POST" }],
    ];
    for (const [name, path, init] of services) {
      const withKey = (apikey?: string) => ({
        ...init,
        headers: { ...(init.headers as Record<string, string>), ...(apikey ? { apikey } : {}) },
      });
      const bad = await status(path, withKey(unknown));
      assert(bad === 401, `${name}: unknown apikey → ${bad}`);
      for (const [which, key] of [["publishable", keys.publishable], ["secret", keys.secret]]) {
        const ok = await status(path, withKey(key));
        assert(ok >= 200 && ok < 300, `${name}: ${which} key → ${ok}`);
      }
      // Storage and Functions accept a request without apikey (a JWT alone, a webhook).
      if (name !== "Storage" && name !== "Functions") {
        const none = await status(path, withKey());
        assert(none === 401, `${name}: no apikey → ${none}`);
      }
    }
    // Realtime's websocket: the socket's apikey must be one of the project's keys.
    for (const [key, expected] of [[unknown, false], [keys.publishable, true]] as const) {
      const ws = new URL("/realtime/v1/websocket", url("/").replace(/^http/, "ws"));
      ws.searchParams.set("apikey", key);
      ws.searchParams.set("vsn", "1.0.0");
      const opened = await new Promise<boolean>((resolve) => {
        const socket = new WebSocket(ws);
        socket.onopen = () => {
          socket.close();
          resolve(true);
        };
        socket.onerror = () => resolve(false);
      });
      assert(opened === expected, `websocket with ${expected ? "a good" : "an unknown"} key`);
    }
  }));

Deno.test("a step function refuses a user's token and the publishable key, accepts the secret key", async () => {
  const keys = apiKeys();
  const user = await signedInUser();
  const body = JSON.stringify({ task_id: crypto.randomUUID(), job_id: crypto.randomUUID() });
  const post = (headers: Record<string, string>) =>
    status("/functions/v1/merge", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
  const userCall = await post({ apikey: keys.publishable, authorization: `Bearer ${user.token}` });
  assert(userCall === 401, `a user's token: ${userCall}`);
  assert((await post({ apikey: keys.publishable })) === 401, "the publishable key");
  const minted = await mintToken({ role: "service_role" }, 600);
  if (minted) {
    const jwt = await post({ apikey: keys.publishable, authorization: `Bearer ${minted}` });
    assert(jwt === 401, `a service_role JWT is not the secret key: ${jwt}`);
  }
  // The engine's call: the secret key in apikey (an unknown task id: claimed by nobody).
  const engine = await post({ apikey: stackEnv().SUPABASE_SECRET_KEY });
  assert(engine === 202, `the secret key: ${engine}`);
  // supabase-js with the secret key (functions.invoke sends it as apikey) is the engine too.
  const client = createClient(stackEnv().SUPABASE_URL, stackEnv().SUPABASE_SECRET_KEY, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const invoked = await client.functions.invoke("merge", { body: JSON.parse(body) });
  assert(!invoked.error && invoked.data.accepted === true, `invoke: ${invoked.error}`);
});
