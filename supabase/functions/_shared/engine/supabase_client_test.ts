import assert from "node:assert/strict";
import { secretKeyFrom } from "./supabase_client.ts";

const url = "http://127.0.0.1:54321";

Deno.test("a function calls Supabase with the default key of SUPABASE_SECRET_KEYS", () => {
  const env = {
    SUPABASE_URL: url,
    SUPABASE_SECRET_KEYS: JSON.stringify({ other: "sb_secret_b", default: "sb_secret_a" }),
    SUPABASE_SERVICE_ROLE_KEY: "eyJhbGciOiJIUzI1NiJ9.legacy-service-role.sig",
  };
  assert(secretKeyFrom(env) === "sb_secret_a", "not the default secret key");
});

Deno.test("only without secret keys does it fall back to the legacy service_role key", () => {
  const legacy = "eyJhbGciOiJIUzI1NiJ9.legacy-service-role.sig";
  assert(
    secretKeyFrom({ SUPABASE_URL: url, SUPABASE_SERVICE_ROLE_KEY: legacy }) === legacy,
    "no legacy fallback",
  );
  let threw = false;
  try {
    secretKeyFrom({ SUPABASE_URL: url });
  } catch {
    threw = true;
  }
  assert(threw, "no key at all must fail");
  threw = false;
  try {
    secretKeyFrom({ SUPABASE_URL: url, SUPABASE_SECRET_KEYS: '{"default":"sb_publishable_x"}' });
  } catch {
    threw = true;
  }
  assert(threw, "a publishable key is no secret key");
});
