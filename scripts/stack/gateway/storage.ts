/**
 * /storage/v1 as storage-js and tus-js-client use it: buckets, object upload / download / info /
 * list / remove / move / copy, signed download and upload URLs, and TUS resumable uploads.
 * Bytes live under `<stack dir>/storage/<bucket>/<name>`, rows in storage.objects; every object
 * operation runs as the caller's role so RLS on storage.objects decides, as on Supabase.
 * Routing lives here; the work is in ./storage/.
 */
import { parse as parseToml } from "smol-toml";
import type { GatewayContext } from "./context.ts";
import { json } from "./http.ts";
import { asCaller, authenticate, type Caller, requestInfo } from "./request_role.ts";
import { findBucket, handleBucketRoute, parseByteSize, sizeLimit } from "./storage/buckets.ts";
import { objectNotFound, storageError, unauthorizedShape } from "./storage/errors.ts";
import { objectFiles, validateObjectName } from "./storage/files.ts";
import {
  copyObject,
  findObject,
  listObjects,
  moveObject,
  objectInfo,
  ownerOf,
  probeInsert,
  removeObjects,
  type Runner,
  serveObject,
  uploadObject,
} from "./storage/objects.ts";
import { expiresInOf, signUrlToken, UPLOAD_URL_SECONDS, verifyUrlToken } from "./storage/signed.ts";
import { createTus, TUS_PATH } from "./storage/tus.ts";

export interface StorageService {
  handle(req: Request, path: string): Promise<Response>;
  close(): Promise<void>;
}

export function createStorage(ctx: GatewayContext): StorageService {
  const files = objectFiles(ctx.config.dir);
  const globalLimit = projectFileSizeLimit(ctx.config.root);
  const tus = createTus(ctx, files, globalLimit);
  // Signed-URL tokens are the stack's own (checked only here): HS256 with its internal secret.
  const secret = ctx.keys.keys.jwtSecret;

  const callerOf = (req: Request) =>
    authenticate(ctx, req, unauthorizedShape, { apikeyRequired: false });
  const runAs = (req: Request, caller: Caller): Runner => (fn) =>
    asCaller(ctx, caller, requestInfo(req), fn);
  const asAdmin: Runner = (fn) => ctx.admin.begin(fn) as ReturnType<typeof fn>;

  async function handleObject(req: Request, segments: string[]): Promise<Response> {
    const method = req.method;
    const [first] = segments;

    // Routes that need no Authorization: public buckets and signed URLs.
    if (first === "public" && (method === "GET" || method === "HEAD")) {
      const { bucket, name } = objectPath(segments.slice(1));
      const found = await findBucket(ctx.admin, bucket);
      if (!found.public) throw objectNotFound();
      return await serveObject(req, files, await findObject(asAdmin, bucket, name));
    }
    if (first === "sign" && method === "GET") {
      const { bucket, name } = objectPath(segments.slice(1));
      const token = new URL(req.url).searchParams.get("token");
      await verifyUrlToken(secret, token, `${bucket}/${name}`);
      return await serveObject(req, files, await findObject(asAdmin, bucket, name));
    }
    if (first === "upload" && segments[1] === "sign" && method === "PUT") {
      const { bucket, name } = objectPath(segments.slice(2));
      const token = new URL(req.url).searchParams.get("token");
      const claims = await verifyUrlToken(secret, token, `${bucket}/${name}`);
      const found = await findBucket(ctx.admin, bucket);
      await uploadObject(req, asAdmin, files, {
        bucket: found,
        name,
        mode: claims.upsert ? "upsert" : "create",
        owner: { owner: uuidOrNull(claims.owner), ownerId: claims.owner ?? null },
        limit: sizeLimit(found, globalLimit),
      });
      return json({ Key: `${bucket}/${name}` });
    }

    const caller = await callerOf(req);
    const run = runAs(req, caller);

    if (first === "authenticated" && (method === "GET" || method === "HEAD")) {
      const { bucket, name } = objectPath(segments.slice(1));
      return await serveObject(req, files, await findObject(run, bucket, name));
    }
    if (first === "info" && method === "GET") {
      const rest = ["authenticated", "public"].includes(segments[1])
        ? segments.slice(2)
        : segments.slice(1);
      const { bucket, name } = objectPath(rest);
      return objectInfo(await findObject(run, bucket, name));
    }
    if (first === "list" && method === "POST" && segments.length === 2) {
      const bucket = decodeSegment(segments[1]);
      await findBucket(ctx.admin, bucket);
      return await listObjects(run, bucket, await req.json());
    }
    if (first === "sign" && method === "POST") {
      if (segments.length === 2) return await signMany(run, decodeSegment(segments[1]), req);
      const { bucket, name } = objectPath(segments.slice(1));
      const expiresIn = expiresInOf(await req.json());
      await findObject(run, bucket, name);
      const token = await signUrlToken(secret, { url: `${bucket}/${name}` }, expiresIn);
      return json({ signedURL: `/object/sign/${bucket}/${name}?token=${token}` });
    }
    if (first === "upload" && segments[1] === "sign" && method === "POST") {
      const { bucket, name } = objectPath(segments.slice(2));
      await findBucket(ctx.admin, bucket);
      const upsert = req.headers.get("x-upsert") === "true";
      // The token lets anyone holding it write this object later, bypassing RLS; so, like
      // Storage, sign only for a caller whose policies allow that write now.
      validateObjectName(name);
      await probeInsert(run, bucket, name, upsert, caller);
      const token = await signUrlToken(
        secret,
        { url: `${bucket}/${name}`, owner: caller.claims.sub, upsert },
        UPLOAD_URL_SECONDS,
      );
      return json({ url: `/object/upload/sign/${bucket}/${name}?token=${token}`, token });
    }
    if (first === "move" && method === "POST" && segments.length === 1) {
      return await moveObject(run, files, await req.json());
    }
    if (first === "copy" && method === "POST" && segments.length === 1) {
      const upsert = req.headers.get("x-upsert") === "true";
      return await copyObject(run, files, await req.json(), ownerOf(caller), upsert);
    }
    if (method === "DELETE" && segments.length === 1) {
      const bucket = decodeSegment(first);
      const body = await req.json().catch(() => ({}));
      return await removeObjects(run, files, bucket, body.prefixes);
    }

    const { bucket, name } = objectPath(segments);
    if (method === "GET" || method === "HEAD") {
      return await serveObject(req, files, await findObject(run, bucket, name));
    }
    if (method === "POST" || method === "PUT") {
      const found = await findBucket(ctx.admin, bucket);
      const mode = method === "PUT"
        ? "update"
        : req.headers.get("x-upsert") === "true"
        ? "upsert"
        : "create";
      return await uploadObject(req, run, files, {
        bucket: found,
        name,
        mode,
        owner: ownerOf(caller),
        limit: sizeLimit(found, globalLimit),
      });
    }
    if (method === "DELETE") {
      const [row] = await run((tx) =>
        tx<{ name: string }[]>`delete from storage.objects
          where bucket_id = ${bucket} and name = ${name} returning name`
      );
      if (!row) throw objectNotFound();
      await files.remove(files.pathOf(bucket, name));
      return json({ message: "Successfully deleted" });
    }
    throw notFoundRoute(req);
  }

  /** POST /object/sign/{bucket} {expiresIn, paths}: one entry per path, errors inline. */
  async function signMany(run: Runner, bucket: string, req: Request): Promise<Response> {
    const body = await req.json();
    const expiresIn = expiresInOf(body);
    const paths: unknown = body.paths;
    if (!Array.isArray(paths)) throw storageError(400, "Invalid Input", "paths must be an array");
    const visible = new Set(
      (await run((tx) =>
        tx<{ name: string }[]>`select name from storage.objects
          where bucket_id = ${bucket} and name = any(${paths.map(String)}::text[])`
      )).map((r) => r.name),
    );
    const out = [];
    for (const path of paths.map(String)) {
      if (!visible.has(path)) {
        out.push({
          error: "Either the object does not exist or you do not have access to it",
          path,
          signedURL: null,
        });
        continue;
      }
      const token = await signUrlToken(secret, { url: `${bucket}/${path}` }, expiresIn);
      out.push({ error: null, path, signedURL: `/object/sign/${bucket}/${path}?token=${token}` });
    }
    return json(out);
  }

  return {
    async handle(req, path) {
      if (new URL(req.url).pathname.startsWith(TUS_PATH)) return await tus.handle(req);
      const segments = path.split("/").filter((s, i) => i > 0 || s !== "");
      const [service, ...rest] = segments;
      if (service === "object") return await handleObject(req, rest);
      if (service === "bucket") {
        const caller = await callerOf(req);
        return await handleBucketRoute(ctx, files, caller, req, path.slice("/bucket".length));
      }
      throw notFoundRoute(req);
    },
    close() {
      tus.close();
      return Promise.resolve();
    },
  };
}

/** `{bucket}/{name...}` from raw path segments; `%2F` in a segment counts as a slash. */
function objectPath(segments: string[]): { bucket: string; name: string } {
  if (segments.length < 2 || !segments[0]) {
    throw storageError(400, "Invalid Input", "The path must be {bucket}/{object name}");
  }
  let name: string;
  try {
    name = decodeURIComponent(segments.slice(1).join("/"));
  } catch {
    throw storageError(400, "Invalid Input", "The object name is not valid percent-encoding");
  }
  return { bucket: decodeSegment(segments[0]), name: validateObjectName(name) };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw storageError(400, "Invalid Input", "The path is not valid percent-encoding");
  }
}

function uuidOrNull(value: string | undefined): string | null {
  return value && /^[0-9a-f-]{36}$/i.test(value) ? value : null;
}

function notFoundRoute(req: Request) {
  return storageError(
    404,
    "Not Found",
    `Route ${req.method}:${new URL(req.url).pathname} not found`,
  );
}

/** `[storage] file_size_limit` of supabase/config.toml, the project-wide cap on every upload. */
function projectFileSizeLimit(root: string): number | null {
  try {
    const config = parseToml(Deno.readTextFileSync(`${root}/supabase/config.toml`)) as {
      storage?: { file_size_limit?: string | number };
    };
    return parseByteSize(config.storage?.file_size_limit);
  } catch {
    return null;
  }
}
