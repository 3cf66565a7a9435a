/**
 * The owner's edits: see revise/revise.ts. `verify_jwt = false` (the platform's check cannot
 * verify a project's asymmetric keys): the caller's JWT is verified here by Auth itself
 * (`auth.getUser`, valid with ES256 and legacy HS256 tokens alike), then everything runs with
 * the secret key.
 */
import { parseReviseRequest, revise, ReviseError } from "./revise.ts";
import { serviceClient } from "../_shared/engine/supabase_client.ts";

/** The largest save revise.ts allows (MAX_SEGMENTS cues, MAX_TEXT_CHARS) is under 2.5 MB. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

const CORS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type",
  "Access-Control-Allow-Methods": "POST, OPTIONS",
};

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...CORS, "Content-Type": "application/json" },
  });
}

Deno.serve(async (request) => {
  if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS });
  if (request.method !== "POST") {
    return reply(405, { error: { code: "invalid_state", message: "Use POST." } });
  }
  try {
    const token = /^Bearer (.+)$/.exec(request.headers.get("Authorization") ?? "")?.[1];
    const db = serviceClient();
    const { data, error } = token ? await db.auth.getUser(token) : { data: null, error: true };
    if (error || !data?.user) throw new ReviseError(401, "not_signed_in", "Please sign in first.");
    // Anything larger than the largest save allowed is refused unread.
    const length = Number(request.headers.get("Content-Length") ?? "0");
    if (length > MAX_BODY_BYTES) {
      throw new ReviseError(413, "invalid_transcript", "The transcript is too large.", "body");
    }
    let body: unknown;
    try {
      const text = await request.text();
      if (text.length > MAX_BODY_BYTES) {
        throw new ReviseError(413, "invalid_transcript", "The transcript is too large.", "body");
      }
      body = JSON.parse(text);
    } catch (error) {
      if (error instanceof ReviseError) throw error;
      throw new ReviseError(400, "invalid_transcript", "The body must be JSON.", "body");
    }
    const result = await revise(db, data.user.id, parseReviseRequest(body));
    return reply(200, result);
  } catch (error) {
    if (error instanceof ReviseError) {
      return reply(error.status, {
        error: { code: error.code, message: error.message, field: error.field },
      });
    }
    console.error("revise failed", error);
    return reply(500, {
      error: { code: "internal", message: "Something went wrong on our side." },
    });
  }
});
