/** Conformance: /auth/v1 through supabase-js — anonymous sign-in, refresh, user, sign-out. */
import assert from "node:assert/strict";
import { anonClient, apiKeys, stackEnv } from "../support/stack_env.ts";
import { decodeJwt } from "jose";

Deno.test("signInAnonymously gives a session whose JWT carries what RLS needs", async () => {
  const client = anonClient();
  const { data, error } = await client.auth.signInAnonymously();
  assert(!error && data.session && data.user, `sign-in failed: ${error?.message}`);
  assert(data.user.is_anonymous === true, "user not anonymous");
  const claims = decodeJwt(data.session.access_token);
  assert(claims.sub === data.user.id, "sub is not the user id");
  assert(claims.role === "authenticated" && claims.aud === "authenticated", "role/aud wrong");
  assert(claims.is_anonymous === true && typeof claims.session_id === "string", "claims missing");
  assert(typeof claims.exp === "number" && claims.exp > Date.now() / 1000, "exp missing");
  const user = await client.auth.getUser();
  assert(user.data.user?.id === data.user.id, "getUser returned another user");
});

Deno.test("refresh rotates the refresh token and a used one is refused", async () => {
  const client = anonClient();
  const { data } = await client.auth.signInAnonymously();
  const first = data.session!;
  const refreshed = await client.auth.refreshSession({ refresh_token: first.refresh_token });
  assert(!refreshed.error && refreshed.data.session, `refresh failed: ${refreshed.error?.message}`);
  assert(refreshed.data.session.refresh_token !== first.refresh_token, "token not rotated");
  assert(refreshed.data.user?.id === data.user!.id, "refresh changed the user");
  const again = await anonClient().auth.refreshSession({ refresh_token: first.refresh_token });
  assert(again.error, "a used refresh token was accepted");
});

Deno.test("signOut ends the session: its refresh token stops working", async () => {
  const client = anonClient();
  const { data } = await client.auth.signInAnonymously();
  const { error } = await client.auth.signOut();
  assert(!error, `signOut failed: ${error?.message}`);
  const after = await anonClient().auth.refreshSession({
    refresh_token: data.session!.refresh_token,
  });
  assert(after.error, "refresh token survived sign-out");
});

Deno.test("a forged or missing token is refused by /auth/v1/user", async () => {
  const url = `${stackEnv().SUPABASE_URL}/auth/v1/user`;
  const res = await fetch(url, {
    headers: { apikey: apiKeys().publishable, authorization: "Bearer not-a-jwt" },
  });
  const body = await res.json();
  assert(res.status === 401, `status ${res.status}`);
  assert(typeof body.msg === "string", "error not in GoTrue shape");
});
