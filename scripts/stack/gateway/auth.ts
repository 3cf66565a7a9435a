/**
 * /auth/v1: the part of Supabase Auth (GoTrue) this product uses — anonymous sign-up
 * (`signInAnonymously`), the refresh_token grant with rotation, GET /user and logout.
 * Users are rows in auth.users; access tokens are JWTs signed with the current signing key
 * (ES256, its `kid` in the header); the public keys are at /.well-known/jwks.json. Every route
 * but the JWKS needs the project's `apikey`, as behind Supabase's API gateway.
 */
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import type { GatewayContext } from "./context.ts";
import { HttpError, json } from "./http.ts";
import { apiKeyOf, authenticate, noApiKey } from "./request_role.ts";
import { clientIp, limitAnonymousSignIn } from "./rate_limit.ts";

const ACCESS_TOKEN_SECONDS = 3600;

function authError(status: number, errorCode: string, msg: string): HttpError {
  return new HttpError(status, { code: status, error_code: errorCode, msg });
}

interface UserRow {
  id: string;
  created_at: Date;
  updated_at: Date;
  last_sign_in_at: Date | null;
  is_anonymous: boolean;
  raw_user_meta_data: Record<string, unknown>;
  raw_app_meta_data: Record<string, unknown>;
}

function userJson(u: UserRow) {
  return {
    id: u.id,
    aud: "authenticated",
    role: "authenticated",
    email: "",
    phone: "",
    last_sign_in_at: u.last_sign_in_at?.toISOString() ?? null,
    app_metadata: u.raw_app_meta_data,
    user_metadata: u.raw_user_meta_data,
    identities: [],
    created_at: u.created_at.toISOString(),
    updated_at: u.updated_at.toISOString(),
    is_anonymous: u.is_anonymous,
  };
}

async function issueSession(
  ctx: GatewayContext,
  user: UserRow,
  sessionId: string,
  refreshToken: string,
) {
  const now = Math.floor(Date.now() / 1000);
  const accessToken = await ctx.keys.sign({
    iss: `http://127.0.0.1:${ctx.config.apiPort}/auth/v1`,
    sub: user.id,
    aud: "authenticated",
    role: "authenticated",
    email: "",
    phone: "",
    app_metadata: user.raw_app_meta_data,
    user_metadata: user.raw_user_meta_data,
    aal: "aal1",
    amr: [{ method: "anonymous", timestamp: now }],
    session_id: sessionId,
    is_anonymous: user.is_anonymous,
  }, ACCESS_TOKEN_SECONDS);
  return {
    access_token: accessToken,
    token_type: "bearer",
    expires_in: ACCESS_TOKEN_SECONDS,
    expires_at: now + ACCESS_TOKEN_SECONDS,
    refresh_token: refreshToken,
    user: userJson(user),
  };
}

function newRefreshToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "").slice(0, 32);
}

const SignupBody = z.looseObject({
  email: z.string().optional(),
  phone: z.string().optional(),
  password: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

const RefreshBody = z.object({ refresh_token: z.string().min(1) });

async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw authError(400, "bad_json", "Could not parse request body as JSON");
  }
}

async function signup(req: Request, ctx: GatewayContext): Promise<Response> {
  const body = SignupBody.safeParse(await readJson(req));
  if (!body.success) throw authError(400, "validation_failed", body.error.message);
  if (body.data.email || body.data.phone || body.data.password) {
    throw authError(
      422,
      "email_provider_disabled",
      "Only anonymous sign-ins are enabled on this stack",
    );
  }
  limitAnonymousSignIn(ctx.config.root, clientIp(req));
  const refreshToken = newRefreshToken();
  const [user] = await ctx.admin.begin(async (tx) => {
    const users = await tx<UserRow[]>`
      insert into auth.users (aud, role, is_anonymous, raw_user_meta_data, raw_app_meta_data, last_sign_in_at)
      values ('authenticated', 'authenticated', true, ${tx.json((body.data.data ?? {}) as never)},
              ${tx.json({ provider: "anonymous", providers: [] } as never)}, now())
      returning id, created_at, updated_at, last_sign_in_at, is_anonymous, raw_user_meta_data, raw_app_meta_data`;
    const [session] = await tx<{ id: string }[]>`
      insert into auth.sessions (user_id) values (${users[0].id}) returning id`;
    await tx`insert into auth.refresh_tokens (token, user_id, session_id)
             values (${refreshToken}, ${users[0].id}, ${session.id})`;
    return [{ ...users[0], session_id: session.id }];
  }) as (UserRow & { session_id: string })[];
  return json(await issueSession(ctx, user, user.session_id, refreshToken));
}

/** `[auth] refresh_token_reuse_interval` in seconds (supabase/config.toml; GoTrue's default 10). */
function reuseIntervalSeconds(root: string): number {
  try {
    const toml = parseToml(Deno.readTextFileSync(join(root, "supabase/config.toml"))) as {
      auth?: { refresh_token_reuse_interval?: number };
    };
    return toml.auth?.refresh_token_reuse_interval ?? 10;
  } catch {
    return 10;
  }
}

/**
 * The refresh_token grant as GoTrue answers it with rotation on (supabase/auth
 * internal/tokens/service.go): a live token is swapped for a new one; a revoked token that is
 * the parent of the session's active one gets that active token back (the client lost its last
 * answer); one revoked within the reuse interval is swapped again (concurrent refreshes); any
 * other reuse is taken for theft: the whole session ends, so the newer token — perhaps the
 * thief's — stops working too, and the answer is refresh_token_already_used.
 */
async function refresh(req: Request, ctx: GatewayContext): Promise<Response> {
  const body = RefreshBody.safeParse(await readJson(req));
  if (!body.success) throw authError(400, "validation_failed", "refresh_token is required");
  const next = newRefreshToken();
  const interval = reuseIntervalSeconds(ctx.config.root);
  const result = await ctx.admin.begin(async (tx) => {
    const [old] = await tx<
      { id: number; revoked: boolean; session_id: string; user_id: string; reusable: boolean }[]
    >`
      select id, revoked, session_id, user_id,
             updated_at + make_interval(secs => ${interval}) > now() as reusable
      from auth.refresh_tokens
      where token = ${body.data.refresh_token} for update`;
    if (!old) {
      throw authError(
        400,
        "refresh_token_not_found",
        "Invalid Refresh Token: Refresh Token Not Found",
      );
    }
    let issued = next;
    if (old.revoked) {
      const [active] = await tx<{ token: string; parent: string | null }[]>`
        select token, parent from auth.refresh_tokens
        where session_id = ${old.session_id} and not revoked order by id desc limit 1`;
      if (active?.parent === body.data.refresh_token) issued = active.token;
      else if (!old.reusable) {
        // The session goes (its refresh tokens with it), as GoTrue's models.LogoutSession on
        // reuse: a token revoked just now would otherwise fall inside the reuse interval.
        await tx`delete from auth.sessions where id = ${old.session_id}`;
        return { reused: true as const };
      }
    }
    if (issued === next) {
      await tx`update auth.refresh_tokens set revoked = true, updated_at = now()
               where id = ${old.id} and not revoked`;
      await tx`insert into auth.refresh_tokens (token, user_id, session_id, parent)
               values (${next}, ${old.user_id}, ${old.session_id}, ${body.data.refresh_token})`;
    }
    await tx`update auth.sessions set refreshed_at = now(), updated_at = now() where id = ${old.session_id}`;
    const [user] = await tx<UserRow[]>`
      select id, created_at, updated_at, last_sign_in_at, is_anonymous, raw_user_meta_data, raw_app_meta_data
      from auth.users where id = ${old.user_id}::uuid and deleted_at is null`;
    if (!user) throw authError(403, "user_not_found", "User from sub claim in JWT does not exist");
    return { reused: false as const, user, sessionId: old.session_id, issued };
  });
  // The family's revocation is committed before the refusal, as GoTrue's NewCommitWithError.
  if (result.reused) {
    throw authError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used");
  }
  return json(await issueSession(ctx, result.user, result.sessionId, result.issued));
}

async function currentUser(req: Request, ctx: GatewayContext) {
  const caller = await authenticate(ctx, req, (msg) => ({ code: 401, error_code: "bad_jwt", msg }));
  if (!caller.claims.sub) throw authError(403, "bad_jwt", "invalid claim: missing sub claim");
  const [user] = await ctx.admin<UserRow[]>`
    select id, created_at, updated_at, last_sign_in_at, is_anonymous, raw_user_meta_data, raw_app_meta_data
    from auth.users where id = ${caller.claims.sub}::uuid and deleted_at is null`;
  if (!user) throw authError(403, "user_not_found", "User from sub claim in JWT does not exist");
  return { user, claims: caller.claims };
}

async function logout(req: Request, ctx: GatewayContext): Promise<Response> {
  const { user, claims } = await currentUser(req, ctx);
  const scope = new URL(req.url).searchParams.get("scope") ?? "global";
  const sessionId = typeof claims.session_id === "string" ? claims.session_id : null;
  if (scope === "local" && sessionId) {
    await ctx.admin`delete from auth.sessions where id = ${sessionId}::uuid`;
  } else if (scope === "others" && sessionId) {
    await ctx
      .admin`delete from auth.sessions where user_id = ${user.id} and id <> ${sessionId}::uuid`;
  } else {
    await ctx.admin`delete from auth.sessions where user_id = ${user.id}`;
  }
  return new Response(null, { status: 204 });
}

export async function handleAuth(
  req: Request,
  ctx: GatewayContext,
  path: string,
): Promise<Response> {
  try {
    if (req.method === "GET" && path === "/.well-known/jwks.json") {
      // Public, no apikey needed (jose's createRemoteJWKSet sends none); public parts only.
      return json(ctx.keys.jwks, 200, { "cache-control": "public, max-age=600" });
    }
    if (!apiKeyOf(ctx, req)) throw noApiKey();
    const grant = new URL(req.url).searchParams.get("grant_type");
    if (req.method === "POST" && path === "/signup") return await signup(req, ctx);
    if (req.method === "POST" && path === "/token" && grant === "refresh_token") {
      return await refresh(req, ctx);
    }
    if (req.method === "GET" && path === "/user") {
      return json(userJson((await currentUser(req, ctx)).user));
    }
    if (req.method === "POST" && path === "/logout") return await logout(req, ctx);
    if (req.method === "GET" && (path === "/health" || path === "/settings")) {
      return json({
        external: { anonymous_users: true, email: false, phone: false },
        disable_signup: false,
      });
    }
    throw authError(
      404,
      "not_found",
      `${req.method} /auth/v1${path} is not supported by the local stack`,
    );
  } catch (e) {
    if (e instanceof HttpError) return json(e.body, e.status);
    throw e;
  }
}
