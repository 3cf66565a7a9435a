/**
 * Signed URLs: download tokens ({url, exp}) and upload tokens ({url, owner, upsert}), HS256 JWTs
 * signed with the stack's secret as Supabase signs them. Access is decided when a URL is made
 * (RLS as the caller); the token alone then grants exactly that one object until it expires.
 */
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { storageError } from "./errors.ts";

/** Supabase's default lifetime of a signed upload URL. */
export const UPLOAD_URL_SECONDS = 2 * 60 * 60;

export interface SignedClaims {
  url: string;
  owner?: string;
  upsert?: boolean;
}

export function signUrlToken(
  secret: string,
  claims: SignedClaims,
  expiresInSeconds: number,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + Math.max(1, Math.floor(expiresInSeconds)))
    .sign(new TextEncoder().encode(secret));
}

/** Verifies signature, expiry and that the token was made for `url` ("bucket/name"). */
export async function verifyUrlToken(
  secret: string,
  token: string | null,
  url: string,
): Promise<SignedClaims> {
  if (!token) throw storageError(400, "InvalidJWT", "jwt must be provided", "InvalidJWT");
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
    }));
  } catch (e) {
    const message = e instanceof joseErrors.JWTExpired
      ? "jwt expired"
      : e instanceof joseErrors.JWSSignatureVerificationFailed
      ? "invalid signature"
      : "jwt malformed";
    throw storageError(400, "InvalidJWT", message, "InvalidJWT");
  }
  if (payload.url !== url) {
    throw storageError(
      400,
      "InvalidSignature",
      "The url do not match the signature",
      "InvalidSignature",
    );
  }
  return payload as unknown as SignedClaims;
}

export function expiresInOf(body: { expiresIn?: unknown }): number {
  const n = Number(body.expiresIn);
  if (!Number.isFinite(n) || n < 1) {
    throw storageError(400, "Invalid Input", "expiresIn must be a positive number of seconds");
  }
  return n;
}
