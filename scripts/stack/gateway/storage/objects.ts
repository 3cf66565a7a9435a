/**
 * Object routes: upload (create, upsert, update), download (with Range), info, list, remove,
 * move and copy. Every row operation runs through a `Runner` — the caller's role under RLS for
 * normal requests, the superuser only where a verified signed token already decided access.
 */
import type postgres from "postgres";
import { json } from "../http.ts";
import type { Caller } from "../request_role.ts";
import { type Bucket, checkMimeType, checkSize, mediaType, ownerUuid } from "./buckets.ts";
import { fromPgError, objectNotFound, storageError } from "./errors.ts";
import type { ObjectFiles, TempFile } from "./files.ts";
import { readMultipart } from "./multipart.ts";

/** Multipart bodies are held in memory; without a bucket limit, this caps them. */
const MULTIPART_MAX = 1024 * 1024 * 1024;

/** Runs `fn` in one transaction, as whoever the request's access is decided for. */
export type Runner = <T>(fn: (tx: postgres.TransactionSql) => Promise<T>) => Promise<T>;

export interface ObjectRow {
  id: string;
  bucket_id: string;
  name: string;
  owner: string | null;
  owner_id: string | null;
  metadata: ObjectMetadata | null;
  user_metadata: Record<string, unknown> | null;
  version: string | null;
  created_at: Date;
  updated_at: Date;
  last_accessed_at: Date;
}

/** What Supabase Storage keeps in storage.objects.metadata. */
export interface ObjectMetadata {
  eTag: string;
  size: number;
  mimetype: string;
  cacheControl: string;
  lastModified: string;
  contentLength: number;
  httpStatusCode: number;
}

export type WriteMode = "create" | "upsert" | "update";

/** Who an upload is written for: `owner` is a uuid column, `owner_id` the JWT's sub as text. */
export interface Owner {
  owner: string | null;
  ownerId: string | null;
}

export const ownerOf = (caller: Caller): Owner => ({
  owner: ownerUuid(caller),
  ownerId: caller.claims.sub ?? null,
});

export interface IncomingObject {
  temp: TempFile;
  mimetype: string;
  cacheControl: string;
  userMetadata: Record<string, unknown> | null;
}

/**
 * Reads an upload body as storage-js sends it: multipart/form-data (file in any file field,
 * `cacheControl` and `metadata` as fields) or the raw bytes with content-type, cache-control and
 * x-metadata headers. Size and MIME limits are checked before a byte is kept.
 */
export async function readIncoming(
  req: Request,
  bucket: Bucket,
  limit: number | null,
  files: ObjectFiles,
): Promise<IncomingObject> {
  const contentType = req.headers.get("content-type") ?? "";
  if (contentType.toLowerCase().startsWith("multipart/form-data")) {
    // Form overhead on top of the file is small; the file itself is checked exactly below.
    const parts = await readMultipart(req, (limit ?? MULTIPART_MAX) + 64 * 1024);
    const file = parts.find((p) => p.filename !== null) ?? parts.find((p) => p.name === "");
    if (!file) throw storageError(400, "Invalid Input", "No file found in the request");
    const field = (name: string) => {
      const part = parts.find((p) => p.name === name && p.filename === null);
      return part ? new TextDecoder().decode(part.data) : "";
    };
    const mimetype = file.contentType || "application/octet-stream";
    checkSize(file.data.byteLength, limit);
    checkMimeType(bucket, mimetype);
    const cache = field("cacheControl");
    const metadata = field("metadata");
    return {
      mimetype,
      cacheControl: cache ? cacheHeader(cache) : "no-cache",
      userMetadata: metadata ? parseJson(metadata) : null,
      temp: await files.writeTemp(new Blob([file.data as BlobPart]).stream(), limit),
    };
  }
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared)) checkSize(declared, limit);
  const mimetype = contentType || "application/octet-stream";
  checkMimeType(bucket, mimetype);
  const xMetadata = req.headers.get("x-metadata");
  return {
    mimetype,
    cacheControl: cacheHeader(req.headers.get("cache-control") ?? "no-cache"),
    userMetadata: xMetadata ? parseJson(atob(xMetadata)) : null,
    temp: await files.writeTemp(req.body ?? new Blob([]).stream(), limit),
  };
}

/** storage-js sends "3600" in forms and TUS metadata; Storage stores "max-age=3600". */
export function cacheHeader(value: string): string {
  return /^\d+$/.test(value.trim()) ? `max-age=${value.trim()}` : value;
}

function parseJson(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text);
  } catch {
    throw storageError(400, "Invalid Input", "metadata is not valid JSON");
  }
}

export function metadataFor(size: number, md5: string, mimetype: string, cacheControl: string) {
  return {
    eTag: `"${md5}"`,
    size,
    mimetype,
    cacheControl,
    lastModified: new Date().toISOString(),
    contentLength: size,
    httpStatusCode: 200,
  } satisfies ObjectMetadata;
}

/**
 * Writes the row (RLS decides) and, in the same transaction, moves the bytes into place: if
 * either fails, neither happens. Returns the object's id.
 */
export async function storeObject(
  run: Runner,
  files: ObjectFiles,
  target: { bucket: string; name: string; mode: WriteMode; owner: Owner },
  bytes: { path: string; metadata: ObjectMetadata; userMetadata: Record<string, unknown> | null },
): Promise<string> {
  const { bucket, name, mode, owner } = target;
  const finalPath = files.pathOf(bucket, name);
  const version = crypto.randomUUID();
  const metadata = bytes.metadata as unknown as postgres.JSONValue;
  const userMetadata = bytes.userMetadata as postgres.JSONValue;
  try {
    return await run(async (tx) => {
      const meta = tx.json(metadata);
      const user = userMetadata === null ? null : tx.json(userMetadata);
      const rows = mode === "update"
        ? await tx<{ id: string }[]>`
            update storage.objects set owner = ${owner.owner}, owner_id = ${owner.ownerId},
              metadata = ${meta}, user_metadata = ${user}, version = ${version},
              updated_at = now(), last_accessed_at = now()
            where bucket_id = ${bucket} and name = ${name} returning id`
        : mode === "upsert"
        ? await tx<{ id: string }[]>`
            insert into storage.objects
              (bucket_id, name, owner, owner_id, metadata, user_metadata, version)
            values (${bucket}, ${name}, ${owner.owner}, ${owner.ownerId}, ${meta}, ${user},
              ${version})
            on conflict (bucket_id, name) do update set owner = excluded.owner,
              owner_id = excluded.owner_id, metadata = excluded.metadata,
              user_metadata = excluded.user_metadata, version = excluded.version,
              updated_at = now(), last_accessed_at = now()
            returning id`
        : await tx<{ id: string }[]>`
            insert into storage.objects
              (bucket_id, name, owner, owner_id, metadata, user_metadata, version)
            values (${bucket}, ${name}, ${owner.owner}, ${owner.ownerId}, ${meta}, ${user},
              ${version})
            returning id`;
      if (!rows.length) throw objectNotFound();
      await files.commit(bytes.path, finalPath);
      return rows[0].id;
    });
  } catch (e) {
    await Deno.remove(bytes.path).catch(() => {});
    throw fromPgError(e);
  }
}

/** Upload routes (POST create/upsert, PUT update) once the caller and bucket are known. */
export async function uploadObject(
  req: Request,
  run: Runner,
  files: ObjectFiles,
  target: { bucket: Bucket; name: string; mode: WriteMode; owner: Owner; limit: number | null },
): Promise<Response> {
  const { bucket, name } = target;
  files.pathOf(bucket.id, name);
  const incoming = await readIncoming(req, bucket, target.limit, files);
  const id = await storeObject(run, files, { ...target, bucket: bucket.id }, {
    path: incoming.temp.path,
    metadata: metadataFor(
      incoming.temp.size,
      incoming.temp.md5,
      incoming.mimetype,
      incoming.cacheControl,
    ),
    userMetadata: incoming.userMetadata,
  });
  return json({ Key: `${bucket.id}/${name}`, Id: id });
}

/** The row of one object, if the runner may see it (404 otherwise, as Storage answers). */
export async function findObject(run: Runner, bucket: string, name: string): Promise<ObjectRow> {
  const [row] = await run((tx) =>
    tx<ObjectRow[]>`select * from storage.objects where bucket_id = ${bucket} and name = ${name}`
  );
  if (!row) throw objectNotFound();
  return row;
}

/**
 * The Content-Type an object is served with: a type naming text/html as text/plain, as hosted
 * Storage's normalizeContentType does; anything that is not one media type (stored before
 * uploads were checked) as application/octet-stream.
 */
function servedContentType(mimetype: string | undefined): string {
  if (!mimetype || !mediaType(mimetype)) return "application/octet-stream";
  return mimetype.toLowerCase().includes("text/html") ? "text/plain" : mimetype;
}

/** Streams an object's bytes with its stored headers; honours Range and If-None-Match. */
export async function serveObject(
  req: Request,
  files: ObjectFiles,
  row: ObjectRow,
): Promise<Response> {
  const path = files.pathOf(row.bucket_id, row.name);
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch {
    throw objectNotFound();
  }
  const size = stat.size;
  const meta = row.metadata;
  const headers: Record<string, string> = {
    "content-type": servedContentType(meta?.mimetype),
    "cache-control": meta?.cacheControl ?? "no-cache",
    "accept-ranges": "bytes",
    "last-modified": new Date(meta?.lastModified ?? row.updated_at).toUTCString(),
    // As hosted Storage serves every object (renderer.ts setHeaders).
    "x-robots-tag": "none",
    // Only here: this stack serves Storage from the web app's origin, so a stored page or SVG
    // opened from a signed URL must not run with the app's session in reach. `sandbox` gives a
    // rendered object an opaque origin; media elements and fetch() ignore both headers.
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox",
  };
  if (meta?.eTag) headers.etag = meta.eTag;
  const download = new URL(req.url).searchParams.get("download");
  if (download !== null) {
    const filename = download || row.name.split("/").pop()!;
    headers["content-disposition"] = `attachment; filename="${encodeURIComponent(filename)}"`;
  }
  if (meta?.eTag && req.headers.get("if-none-match") === meta.eTag) {
    return new Response(null, { status: 304, headers });
  }
  const range = parseRange(req.headers.get("range"), size);
  if (range === "unsatisfiable") {
    return new Response(null, { status: 416, headers: { "content-range": `bytes */${size}` } });
  }
  const [start, end] = range ?? [0, size - 1];
  const length = Math.max(0, end - start + 1);
  headers["content-length"] = String(length);
  if (range) headers["content-range"] = `bytes ${start}-${end}/${size}`;
  const status = range ? 206 : 200;
  if (req.method === "HEAD" || length === 0) return new Response(null, { status, headers });
  return new Response(await fileSlice(path, start, length), { status, headers });
}

function parseRange(
  header: string | null,
  size: number,
): [number, number] | null | "unsatisfiable" {
  const m = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number, end: number;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start > end || start >= size ? "unsatisfiable" : [start, end];
}

async function fileSlice(path: string, start: number, length: number) {
  const file = await Deno.open(path);
  await file.seek(start, Deno.SeekMode.Start);
  let left = length;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(Math.min(left, 256 * 1024));
      const n = await file.read(buf);
      if (n === null || n === 0) {
        file.close();
        controller.close();
        return;
      }
      left -= n;
      controller.enqueue(buf.subarray(0, n));
      if (left <= 0) {
        file.close();
        controller.close();
      }
    },
    cancel() {
      file.close();
    },
  });
}

/** GET /object/info/...: the object's description in Storage's shape. */
export function objectInfo(row: ObjectRow): Response {
  return json({
    id: row.id,
    name: row.name,
    version: row.version,
    bucket_id: row.bucket_id,
    size: row.metadata?.size ?? null,
    content_type: row.metadata?.mimetype ?? null,
    cache_control: row.metadata?.cacheControl ?? null,
    etag: row.metadata?.eTag ?? null,
    metadata: row.user_metadata,
    last_modified: row.metadata?.lastModified ?? null,
    created_at: row.created_at,
  });
}

const SORT_COLUMNS = new Set(["name", "updated_at", "created_at", "last_accessed_at"]);

interface ListBody {
  prefix?: string;
  limit?: number;
  offset?: number;
  sortBy?: { column?: string; order?: string };
  search?: string;
}

/**
 * POST /object/list/{bucket}: the direct children of `prefix` — files with their rows, folders
 * as entries whose id, timestamps and metadata are null — as Storage's search function lists.
 */
export async function listObjects(run: Runner, bucket: string, body: ListBody): Promise<Response> {
  const prefix = (body.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const p = prefix ? `${prefix}/` : "";
  const column = body.sortBy?.column ?? "name";
  if (!SORT_COLUMNS.has(column)) {
    throw storageError(400, "Invalid Input", `Invalid sort column: ${column}`);
  }
  const order = body.sortBy?.order?.toLowerCase() === "desc" ? "desc" : "asc";
  const limit = Math.max(0, Math.min(Number(body.limit ?? 100), 10000));
  const offset = Math.max(0, Number(body.offset ?? 0));
  const search = (body.search ?? "").replace(/[\\%_]/g, (c) => `\\${c}`) + "%";
  const rows = await run((tx) =>
    tx.unsafe(
      `with matched as (
         select id, substr(name, length($2) + 1) as rest, updated_at, created_at,
           last_accessed_at, metadata
         from storage.objects
         where bucket_id = $1 and left(name, length($2)) = $2
           and substr(name, length($2) + 1) ilike $3
       )
       select name, id, updated_at, created_at, last_accessed_at, metadata from (
         select distinct split_part(rest, '/', 1) as name, null::uuid as id,
           null::timestamptz as updated_at, null::timestamptz as created_at,
           null::timestamptz as last_accessed_at, null::jsonb as metadata
         from matched where strpos(rest, '/') > 0
         union all
         select rest, id, updated_at, created_at, last_accessed_at, metadata
         from matched where strpos(rest, '/') = 0
       ) entries
       order by ${column} ${order} nulls last, name ${order}
       limit ${limit} offset ${offset}`,
      [bucket, p, search],
    )
  );
  return json(rows);
}

/** DELETE /object/{bucket} {prefixes}: deletes what RLS lets the caller delete, then the files. */
export async function removeObjects(
  run: Runner,
  files: ObjectFiles,
  bucket: string,
  names: string[],
): Promise<Response> {
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
    throw storageError(400, "Invalid Input", "prefixes must be an array of object names");
  }
  const rows = await run((tx) =>
    tx<ObjectRow[]>`delete from storage.objects
      where bucket_id = ${bucket} and name = any(${names}::text[]) returning *`
  );
  for (const row of rows) await files.remove(files.pathOf(bucket, row.name));
  return json(rows);
}

interface MoveBody {
  bucketId?: string;
  sourceKey?: string;
  destinationKey?: string;
  destinationBucket?: string;
}

/** POST /object/move: renames the row (RLS: update on the old and the new row) and the file. */
export async function moveObject(
  run: Runner,
  files: ObjectFiles,
  body: MoveBody,
): Promise<Response> {
  const { bucketId, sourceKey, destinationKey } = body;
  if (!bucketId || !sourceKey || !destinationKey) {
    throw storageError(400, "Invalid Input", "bucketId, sourceKey and destinationKey are required");
  }
  const toBucket = body.destinationBucket ?? bucketId;
  const from = files.pathOf(bucketId, sourceKey);
  const to = files.pathOf(toBucket, destinationKey);
  try {
    await run(async (tx) => {
      const rows = await tx`update storage.objects
        set bucket_id = ${toBucket}, name = ${destinationKey}, updated_at = now()
        where bucket_id = ${bucketId} and name = ${sourceKey} returning id`;
      if (!rows.length) throw objectNotFound();
      await files.commit(from, to);
    });
  } catch (e) {
    throw fromPgError(e);
  }
  return json({ message: "Successfully moved" });
}

/** POST /object/copy: a new row (RLS: select the source, insert the copy) and a copied file. */
export async function copyObject(
  run: Runner,
  files: ObjectFiles,
  body: MoveBody & { copyMetadata?: boolean },
  owner: Owner,
  upsert: boolean,
): Promise<Response> {
  const { bucketId, sourceKey, destinationKey } = body;
  if (!bucketId || !sourceKey || !destinationKey) {
    throw storageError(400, "Invalid Input", "bucketId, sourceKey and destinationKey are required");
  }
  const toBucket = body.destinationBucket ?? bucketId;
  files.pathOf(toBucket, destinationKey);
  const source = await findObject(run, bucketId, sourceKey);
  const temp = files.tempPath();
  await Deno.copyFile(files.pathOf(bucketId, sourceKey), temp).catch(() => {
    throw objectNotFound();
  });
  const metadata = { ...source.metadata!, lastModified: new Date().toISOString() };
  const id = await storeObject(
    run,
    files,
    { bucket: toBucket, name: destinationKey, mode: upsert ? "upsert" : "create", owner },
    { path: temp, metadata, userMetadata: source.user_metadata },
  );
  return json({ Key: `${toBucket}/${destinationKey}`, Id: id, name: destinationKey });
}

class ProbeOk extends Error {}

/**
 * Whether the caller may create (or upsert) this object under RLS, decided as Storage decides
 * it before a TUS upload or a signed upload URL: the row is inserted as the caller inside a
 * transaction that is always rolled back. Throws Storage's 403 when a policy refuses.
 */
export async function probeInsert(
  run: Runner,
  bucket: string,
  name: string,
  upsert: boolean,
  caller: Caller,
): Promise<void> {
  const { owner, ownerId } = ownerOf(caller);
  try {
    await run(async (tx) => {
      if (upsert) {
        await tx`insert into storage.objects (bucket_id, name, owner, owner_id)
          values (${bucket}, ${name}, ${owner}, ${ownerId})
          on conflict (bucket_id, name) do update set owner = excluded.owner,
            owner_id = excluded.owner_id, updated_at = now()`;
      } else {
        await tx`insert into storage.objects (bucket_id, name, owner, owner_id)
          values (${bucket}, ${name}, ${owner}, ${ownerId})`;
      }
      throw new ProbeOk();
    });
  } catch (e) {
    if (e instanceof ProbeOk) return;
    throw fromPgError(e);
  }
}
