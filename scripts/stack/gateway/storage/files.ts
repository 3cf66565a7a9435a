/**
 * Where object bytes live: `<stack dir>/storage/<bucket>/<name>`. Every write goes to a temp file
 * first and is renamed into place, so a reader never sees half an object. Names are checked here,
 * once, so nothing outside the bucket's folder can be reached.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { invalidKey, payloadTooLarge, storageError } from "./errors.ts";

export interface ObjectFiles {
  /** The file of an object; throws 400 for names that could leave the bucket's folder. */
  pathOf(bucket: string, name: string): string;
  /** Streams `body` to a temp file, refusing more than `limit` bytes (413). */
  writeTemp(body: ReadableStream<Uint8Array>, limit: number | null): Promise<TempFile>;
  /** A temp file path for copies. */
  tempPath(): string;
  /** Moves a finished file into place (creating folders). */
  commit(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Deletes a bucket's folder once the bucket is gone. */
  removeBucket(bucket: string): Promise<void>;
  /** Folder for TUS uploads in progress (same file system, so finishing is a rename). */
  readonly tusDir: string;
}

export interface TempFile {
  path: string;
  size: number;
  /** Hex MD5, which Supabase reports (quoted) as the object's eTag. */
  md5: string;
}

export function validateObjectName(name: string): string {
  const bad = name.length === 0 || name.length > 1024 || name.startsWith("/") ||
    name.includes("\\") || [...name].some((c) => c.charCodeAt(0) < 0x20 || c === "\x7f") ||
    name.split("/").some((s) => s === "" || s === "." || s === "..");
  if (bad) throw invalidKey(name);
  return name;
}

export function validateBucketId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,99}$/.test(id) || id.includes("..")) {
    throw storageError(400, "Invalid Input", `Bucket name invalid: ${id}`, "InvalidBucketName");
  }
  return id;
}

export function objectFiles(stackDir: string): ObjectFiles {
  const root = join(stackDir, "storage");
  const tmpDir = join(stackDir, "storage-tmp");
  const tusDir = join(stackDir, "storage-tus");
  Deno.mkdirSync(tmpDir, { recursive: true });
  Deno.mkdirSync(tusDir, { recursive: true });
  const tempPath = () => join(tmpDir, crypto.randomUUID());

  return {
    tusDir,
    tempPath,
    pathOf(bucket, name) {
      const path = join(root, validateBucketId(bucket), validateObjectName(name));
      if (!path.startsWith(`${root}/${bucket}/`)) throw invalidKey(name);
      return path;
    },
    async writeTemp(body, limit) {
      const path = tempPath();
      const file = await Deno.open(path, { write: true, createNew: true });
      const md5 = createHash("md5");
      let size = 0;
      try {
        for await (const chunk of body) {
          size += chunk.byteLength;
          if (limit !== null && size > limit) throw payloadTooLarge();
          md5.update(chunk);
          let written = 0;
          while (written < chunk.byteLength) written += await file.write(chunk.subarray(written));
        }
      } catch (e) {
        file.close();
        await Deno.remove(path).catch(() => {});
        throw e;
      }
      file.close();
      return { path, size, md5: md5.digest("hex") };
    },
    async removeBucket(bucket) {
      await Deno.remove(join(root, validateBucketId(bucket)), { recursive: true }).catch(() => {});
    },
    async commit(from, to) {
      await Deno.mkdir(dirname(to), { recursive: true });
      await Deno.rename(from, to);
    },
    async remove(path) {
      await Deno.remove(path).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
      // Drop folders the object leaves empty, so a later object may use the name as a file.
      for (
        let dir = dirname(path);
        dir.startsWith(`${root}/`) && dir.split("/").length > root.split("/").length + 1;
        dir = dirname(dir)
      ) {
        try {
          await Deno.remove(dir);
        } catch {
          break;
        }
      }
    },
  };
}

/** MD5 of a file already on disk (TUS uploads arrive in pieces). */
export async function md5OfFile(path: string): Promise<string> {
  const md5 = createHash("md5");
  const file = await Deno.open(path);
  for await (const chunk of file.readable) md5.update(chunk);
  return md5.digest("hex");
}
