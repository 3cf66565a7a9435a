/**
 * Buckets: the limits every upload path enforces (file_size_limit, allowed_mime_types) and the
 * bucket admin routes storage-js calls (listBuckets, getBucket, createBucket, updateBucket,
 * emptyBucket, deleteBucket). Admin routes run as the caller, so RLS on storage.buckets decides
 * (the service role bypasses it, as on Supabase).
 */
import type postgres from "postgres";
import type { GatewayContext } from "../context.ts";
import { asCaller, type Caller, requestInfo } from "../request_role.ts";
import { json } from "../http.ts";
import { bucketNotFound, invalidMimeType, payloadTooLarge, storageError } from "./errors.ts";
import { type ObjectFiles, validateBucketId } from "./files.ts";

export interface Bucket {
  id: string;
  name: string;
  public: boolean;
  fileSizeLimit: number | null;
  allowedMimeTypes: string[] | null;
}

/** The bucket an object operation targets, read as superuser as Supabase Storage does. */
export async function findBucket(sql: postgres.Sql, id: string): Promise<Bucket> {
  validateBucketId(id);
  const [row] = await sql<
    {
      id: string;
      name: string;
      public: boolean;
      file_size_limit: string | null;
      allowed_mime_types: string[] | null;
    }[]
  >`select id, name, public, file_size_limit, allowed_mime_types from storage.buckets
    where id = ${id}`;
  if (!row) throw bucketNotFound();
  return {
    id: row.id,
    name: row.name,
    public: row.public,
    fileSizeLimit: row.file_size_limit === null ? null : Number(row.file_size_limit),
    allowedMimeTypes: row.allowed_mime_types?.length ? row.allowed_mime_types : null,
  };
}

/** The effective byte limit: the bucket's, capped by the project-wide one. */
export function sizeLimit(bucket: Bucket, globalLimit: number | null): number | null {
  const limits = [bucket.fileSizeLimit, globalLimit].filter((l): l is number => l !== null);
  return limits.length ? Math.min(...limits) : null;
}

export function checkSize(size: number, limit: number | null): void {
  if (limit !== null && size > limit) throw payloadTooLarge();
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** One media type, RFC 9110 §8.3.1: type "/" subtype *( OWS ";" OWS token "=" value ). */
const MEDIA_TYPE = new RegExp(
  `^(${TOKEN})/(${TOKEN})(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*"))*$`,
);

/** `type/subtype` of a Content-Type that is exactly one media type, else null. */
export function mediaType(mime: string): { type: string; subtype: string } | null {
  const m = MEDIA_TYPE.exec(mime.trim());
  return m ? { type: m[1].toLowerCase(), subtype: m[2].toLowerCase() } : null;
}

/**
 * Throws 415 unless `mime` is one media type that matches one of the bucket's allowed types by
 * type and subtype (`audio/*` wildcards), as hosted Storage's validateMimeType compares them.
 * Stricter than hosted, which splits on "/" and so lets a list such as "audio/mpeg, text/html"
 * through `audio/*`: a browser uses the list's last entry, and this stack serves Storage from
 * the web app's own origin, so such a type is refused here whatever the bucket allows.
 */
export function checkMimeType(bucket: Bucket, mime: string): void {
  const parsed = mediaType(mime);
  if (!parsed) throw invalidMimeType(mime);
  if (!bucket.allowedMimeTypes) return;
  const ok = bucket.allowedMimeTypes.some((allowed) => {
    const [type, subtype] = allowed.trim().toLowerCase().split("/");
    return type === parsed.type && (subtype === "*" || subtype === parsed.subtype);
  });
  if (!ok) throw invalidMimeType(mime);
}

/** "50MB", "1GiB", "1024" → bytes (decimal units for kB/MB/GB, binary for KiB/MiB/GiB). */
export function parseByteSize(value: unknown): number | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value > 0 ? value : null;
  const m = String(value).trim().match(/^(\d+(?:\.\d+)?)\s*([kmgt]?i?b)?$/i);
  if (!m) throw storageError(400, "Invalid Input", `Invalid file size: ${value}`, "InvalidRequest");
  const unit = (m[2] ?? "b").toLowerCase();
  const base = unit.includes("i") ? 1024 : 1000;
  const power = { b: 0, k: 1, m: 2, g: 3, t: 4 }[unit[0]] ?? 0;
  return Math.floor(Number(m[1]) * base ** power);
}

interface BucketBody {
  id?: string;
  name?: string;
  public?: boolean;
  file_size_limit?: number | string | null;
  allowed_mime_types?: string[] | null;
}

/** /bucket routes. `rest` is the path after `/bucket` ("" or "/<id>" or "/<id>/empty"). */
export async function handleBucketRoute(
  ctx: GatewayContext,
  files: ObjectFiles,
  caller: Caller,
  req: Request,
  rest: string,
): Promise<Response> {
  const info = requestInfo(req);
  const [, rawId, action] = rest.split("/");
  const id = rawId ? decodeURIComponent(rawId) : undefined;
  const columns = postgresColumns;

  if (req.method === "GET" && !id) {
    const rows = await asCaller(
      ctx,
      caller,
      info,
      (tx) => tx.unsafe(`select ${columns} from storage.buckets order by name`),
    );
    return json(rows);
  }
  if (req.method === "GET" && id) {
    const [row] = await asCaller(
      ctx,
      caller,
      info,
      (tx) => tx.unsafe(`select ${columns} from storage.buckets where id = $1`, [id]),
    );
    if (!row) throw bucketNotFound();
    return json(row);
  }
  if (req.method === "POST" && !id) {
    const body = await req.json() as BucketBody;
    const bucketId = validateBucketId(String(body.id ?? body.name ?? ""));
    try {
      await asCaller(
        ctx,
        caller,
        info,
        (tx) =>
          tx`insert into storage.buckets (id, name, owner, owner_id, public, file_size_limit,
             allowed_mime_types)
           values (${bucketId}, ${body.name ?? bucketId}, ${ownerUuid(caller)},
             ${caller.claims.sub ?? null}, ${body.public ?? false},
             ${parseByteSize(body.file_size_limit)}, ${body.allowed_mime_types ?? null})`,
      );
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "23505") {
        throw storageError(409, "Duplicate", "The resource already exists", "BucketAlreadyExists");
      }
      if (code === "42501") {
        throw storageError(403, "Unauthorized", "new row violates row-level security policy");
      }
      throw e;
    }
    return json({ name: bucketId });
  }
  if (req.method === "PUT" && id) {
    const body = await req.json() as BucketBody;
    const rows = await asCaller(ctx, caller, info, (tx) =>
      tx`update storage.buckets set
           public = coalesce(${body.public ?? null}, public),
           file_size_limit = ${parseByteSize(body.file_size_limit)},
           allowed_mime_types = ${body.allowed_mime_types ?? null},
           updated_at = now()
         where id = ${id} returning id`);
    if (!rows.length) throw bucketNotFound();
    return json({ message: "Successfully updated" });
  }
  if (req.method === "POST" && id && action === "empty") {
    await findBucket(ctx.admin, id);
    const removed = await asCaller(
      ctx,
      caller,
      info,
      (tx) =>
        tx<{ name: string }[]>`delete from storage.objects where bucket_id = ${id} returning name`,
    );
    for (const row of removed) await files.remove(files.pathOf(id, row.name));
    return json({ message: "Successfully emptied" });
  }
  if (req.method === "DELETE" && id) {
    const [{ count }] = await ctx.admin<{ count: number }[]>`
      select count(*)::int as count from storage.objects where bucket_id = ${id}`;
    if (count > 0) {
      throw storageError(409, "Bucket not empty", "The bucket you tried to delete is not empty");
    }
    const rows = await asCaller(
      ctx,
      caller,
      info,
      (tx) => tx`delete from storage.buckets where id = ${id} returning id`,
    );
    if (!rows.length) throw bucketNotFound();
    await files.removeBucket(id);
    return json({ message: "Successfully deleted" });
  }
  throw storageError(404, "Not Found", `Route ${req.method}:/bucket${rest} not found`);
}

const postgresColumns =
  "id, name, owner, owner_id, public, file_size_limit::float8 as file_size_limit, " +
  "allowed_mime_types, type, created_at, updated_at";

/** `owner` is a uuid column; only a uuid `sub` fits it. */
export function ownerUuid(caller: Caller): string | null {
  const sub = caller.claims.sub;
  return sub && /^[0-9a-f-]{36}$/i.test(sub) ? sub : null;
}
