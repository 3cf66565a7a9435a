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

/** A refresh over HTTP, as any client may send it: the status, error code and new token. */
async function refreshOverHttp(refreshToken: string) {
  const response = await fetch(
    `${stackEnv().SUPABASE_URL}/auth/v1/token?grant_type=refresh_token`,
    {
      method: "POST",
      headers: { apikey: apiKeys().publishable, "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }),
    },
  );
  const body = await response.json();
  return { status: response.status, code: body.error_code, token: body.refresh_token as string };
}

Deno.test("refresh rotates the refresh token; the parent of the current one gives it back", async () => {
  // GoTrue (supabase/auth internal/tokens/service.go, RefreshTokenGrant): a revoked token that
  // is the parent of the session's active one is answered with that active token — the client
  // did not store its last refresh — rather than a new one.
  const client = anonClient();
  const { data } = await client.auth.signInAnonymously();
  const first = data.session!;
  const refreshed = await client.auth.refreshSession({ refresh_token: first.refresh_token });
  assert(!refreshed.error && refreshed.data.session, `refresh failed: ${refreshed.error?.message}`);
  assert(refreshed.data.session.refresh_token !== first.refresh_token, "token not rotated");
  assert(refreshed.data.user?.id === data.user!.id, "refresh changed the user");
  const again = await refreshOverHttp(first.refresh_token);
  assert.equal(again.status, 200);
  assert.equal(again.token, refreshed.data.session.refresh_token);
});

Deno.test({
  name: "reuse of a rotated token past the reuse interval revokes the whole session (GoTrue)",
  async fn() {
    // GoTrue, with refresh token rotation on (`[auth] enable_refresh_token_rotation`): a revoked
    // token used again more than `refresh_token_reuse_interval` (10 s) after it was revoked, and
    // not the parent of the active one, ends the whole session ("the whole session is regarded
    // as terminated and all refresh tokens belonging to it are marked as revoked",
    // https://supabase.com/docs/guides/auth/sessions; supabase/auth internal/tokens/service.go:
    // RevokeTokenFamily, and models.LogoutSession for v2 tokens); the answer is 400
    // refresh_token_already_used, and the newest token of that session is refused too.
    const client = anonClient();
    const { data } = await client.auth.signInAnonymously();
    const stolen = data.session!.refresh_token;
    const second = await refreshOverHttp(stolen);
    const third = await refreshOverHttp(second.token); // the thief's, say
    assert.equal(third.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    const reused = await refreshOverHttp(stolen);
    assert.equal(reused.status, 400);
    assert.equal(reused.code, "refresh_token_already_used");
    const newest = await refreshOverHttp(third.token);
    assert.equal(
      newest.status,
      400,
      "the newest token of a session with a reused token still works",
    );
    assert.ok(
      ["refresh_token_already_used", "refresh_token_not_found"].includes(newest.code),
      newest.code,
    );
  },
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
