/**
 * Resumable uploads at /storage/v1/upload/resumable with @tus/server and its file store, speaking
 * Supabase's dialect: Upload-Metadata carries bucketName, objectName, contentType and cacheControl,
 * `x-upsert: true` allows overwriting, and every request carries `Authorization: Bearer`.
 * Access is decided at creation (a probe insert as the caller, rolled back) and again when the
 * last byte arrives (the real insert, together with moving the bytes into place); in between only
 * the creator may touch the upload.
 */
import { FileStore } from "@tus/file-store";
import { Server, type ServerOptions } from "@tus/server";
import type { GatewayContext } from "../context.ts";
import { HttpError } from "../http.ts";
import { asCaller, authenticate, type Caller, requestInfo } from "../request_role.ts";
import { checkMimeType, checkSize, findBucket, sizeLimit } from "./buckets.ts";
import { storageError, unauthorizedShape } from "./errors.ts";
import { md5OfFile, type ObjectFiles } from "./files.ts";
import {
  cacheHeader,
  metadataFor,
  ownerOf,
  probeInsert,
  type Runner,
  storeObject,
} from "./objects.ts";

export const TUS_PATH = "/storage/v1/upload/resumable";
const UPLOAD_EXPIRY_MS = 24 * 3600 * 1000;

export interface TusService {
  handle(req: Request): Promise<Response>;
  close(): void;
}

/** The keys of Upload-Metadata this service reads, plus who created the upload. */
interface UploadMeta {
  bucketName?: string | null;
  objectName?: string | null;
  contentType?: string | null;
  cacheControl?: string | null;
  upsert?: string | null;
  createdBy?: string | null;
}

/** A rolled-back probe: the statement ran (RLS said yes), nothing is kept. */

export function createTus(
  ctx: GatewayContext,
  files: ObjectFiles,
  globalLimit: number | null,
): TusService {
  const store = new FileStore({
    directory: files.tusDir,
    expirationPeriodInMilliseconds: UPLOAD_EXPIRY_MS,
  });
  const callers = new WeakMap<object, Caller>();
  const callerOf = (req: object): Caller => {
    const caller = callers.get(req);
    if (!caller) throw storageError(403, "Unauthorized", "no caller for this request");
    return caller;
  };
  const runAs = (req: Request, caller: Caller): Runner => (fn) =>
    asCaller(ctx, caller, requestInfo(req), fn);
  const who = (caller: Caller) => caller.claims.sub ?? caller.role;

  const storedMeta = async (id: string): Promise<UploadMeta | undefined> => {
    try {
      return (await store.configstore.get(id))?.metadata as UploadMeta | undefined;
    } catch {
      return undefined;
    }
  };

  const options: Omit<ServerOptions, "locker"> = {
    path: TUS_PATH,
    namingFunction: () => crypto.randomUUID().replaceAll("-", ""),
    maxSize: tusHook(async (_req, id) => {
      // A PATCH of an upload whose length was deferred: the bucket's limit caps the bytes.
      const meta = id ? await storedMeta(id) : undefined;
      if (!meta?.bucketName) return 0;
      return sizeLimit(await findBucket(ctx.admin, meta.bucketName), globalLimit) ?? 0;
    }),
    onIncomingRequest: tusHook(async (req, id) => {
      if (req.method === "POST") return;
      const caller = callerOf(req);
      const meta = await storedMeta(id);
      if (meta && caller.role !== "service_role" && meta.createdBy !== who(caller)) {
        throw storageError(403, "Unauthorized", "this upload belongs to someone else");
      }
    }),
    onUploadCreate: tusHook(async (req, upload) => {
      const caller = callerOf(req);
      const meta = (upload.metadata ?? {}) as UploadMeta;
      const bucketName = meta.bucketName ?? "";
      const objectName = meta.objectName ?? "";
      if (!bucketName || !objectName) {
        throw storageError(400, "Invalid Input", "bucketName and objectName metadata are required");
      }
      files.pathOf(bucketName, objectName);
      const bucket = await findBucket(ctx.admin, bucketName);
      if (upload.size !== undefined) checkSize(upload.size, sizeLimit(bucket, globalLimit));
      checkMimeType(bucket, meta.contentType || "application/octet-stream");
      const upsert = req.headers.get("x-upsert") === "true";
      await probeInsert(runAs(req as Request, caller), bucketName, objectName, upsert, caller);
      return {
        metadata: {
          ...upload.metadata,
          upsert: String(upsert),
          createdBy: who(caller),
        } as Record<string, string>,
      };
    }),
    onUploadFinish: tusHook(async (req, upload) => {
      const caller = callerOf(req);
      const meta = (upload.metadata ?? {}) as UploadMeta;
      const path = `${files.tusDir}/${upload.id}`;
      const size = upload.size ?? upload.offset;
      const metadata = metadataFor(
        size,
        await md5OfFile(path),
        meta.contentType || "application/octet-stream",
        cacheHeader(meta.cacheControl || "no-cache"),
      );
      const bucket = await findBucket(ctx.admin, meta.bucketName ?? "");
      checkSize(size, sizeLimit(bucket, globalLimit));
      await storeObject(runAs(req as Request, caller), files, {
        bucket: bucket.id,
        name: meta.objectName ?? "",
        mode: meta.upsert === "true" ? "upsert" : "create",
        owner: ownerOf(caller),
      }, { path, metadata, userMetadata: null });
      await store.configstore.delete(upload.id);
      return {};
    }),
  };
  const server = new Server({ ...options, datastore: store });
  const sweep = setInterval(() => server.cleanUpExpiredUploads().catch(() => {}), 3600_000);

  return {
    async handle(req) {
      if (req.method !== "OPTIONS") {
        callers.set(
          req,
          await authenticate(ctx, req, unauthorizedShape, { apikeyRequired: false }),
        );
      }
      return await server.handleWeb(req as Parameters<Server["handleWeb"]>[0]);
    },
    close() {
      clearInterval(sweep);
    },
  };
}

/** Storage's errors inside a TUS hook become the `{status_code, body}` @tus/server answers with. */
function tusHook<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  return async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } catch (e) {
      if (e instanceof HttpError) throw { status_code: e.status, body: JSON.stringify(e.body) };
      throw e;
    }
  };
}
