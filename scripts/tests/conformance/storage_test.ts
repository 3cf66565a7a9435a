/**
 * Conformance: /storage/v1 through supabase-js storage and tus-js-client — upload, download,
 * list, remove, move, signed URLs, RLS on storage.objects, bucket limits, path checks, and
 * resumable (TUS) uploads including a 50 MB one and one resumed after a dropped connection.
 * Buckets and policies are created per run with unique names and dropped at the end.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as tus from "tus-js-client";
import {
  adminSql,
  anonClient,
  apiKeys,
  serviceClient,
  signedInUser,
  stackEnv,
} from "../support/stack_env.ts";

const MiB = 1024 * 1024;
const run = crypto.randomUUID().slice(0, 8);
const BUCKET = `conf-storage-${run}`;
const LIMITED = `conf-limited-${run}`;
const PUBLIC = `conf-public-${run}`;
const LIMITED_BYTES = 1024;

/** `(storage.foldername(name))[1] = auth.uid()::text` on every command, scoped to our buckets. */
async function setUp(sql: ReturnType<typeof adminSql>) {
  await sql`insert into storage.buckets (id, name, public, file_size_limit)
    values (${BUCKET}, ${BUCKET}, false, ${64 * MiB})`;
  await sql`insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
    values (${LIMITED}, ${LIMITED}, false, ${LIMITED_BYTES}, ${["audio/*", "text/plain"]})`;
  await sql`insert into storage.buckets (id, name, public) values (${PUBLIC}, ${PUBLIC}, true)`;
  const own = `bucket_id in ('${BUCKET}', '${LIMITED}', '${PUBLIC}') ` +
    `and (storage.foldername(name))[1] = auth.uid()::text`;
  for (const cmd of ["select", "delete"]) {
    await sql.unsafe(
      `create policy "conf ${run} ${cmd}" on storage.objects for ${cmd} to authenticated
       using (${own})`,
    );
  }
  await sql.unsafe(
    `create policy "conf ${run} insert" on storage.objects for insert to authenticated
     with check (${own})`,
  );
  await sql.unsafe(
    `create policy "conf ${run} update" on storage.objects for update to authenticated
     using (${own}) with check (${own})`,
  );
}

async function tearDown(sql: ReturnType<typeof adminSql>) {
  // Through the API, so the stored bytes go too; SQL only mops up what the API refused.
  const service = serviceClient().storage;
  for (const bucket of [BUCKET, LIMITED, PUBLIC]) {
    await service.emptyBucket(bucket);
    await service.deleteBucket(bucket);
    await sql`delete from storage.objects where bucket_id = ${bucket}`;
    await sql`delete from storage.buckets where id = ${bucket}`;
  }
  for (const cmd of ["select", "insert", "update", "delete"]) {
    await sql.unsafe(`drop policy if exists "conf ${run} ${cmd}" on storage.objects`);
  }
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

async function sha256(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const tusEndpoint = () => `${stackEnv().SUPABASE_URL}/storage/v1/upload/resumable`;

interface TusOptions {
  token: string;
  bucket: string;
  name: string;
  contentType?: string;
  chunkSize?: number;
  uploadUrl?: string;
  onProgress?: (sent: number, upload: tus.Upload) => void;
}

/** A Supabase-style TUS upload; resolves with the upload URL, rejects with the HTTP status. */
function tusUpload(bytes: Uint8Array, o: TusOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload: tus.Upload = new tus.Upload(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      {
        endpoint: tusEndpoint(),
        uploadUrl: o.uploadUrl,
        retryDelays: null,
        chunkSize: o.chunkSize ?? 6 * MiB,
        uploadDataDuringCreation: false,
        removeFingerprintOnSuccess: true,
        headers: { authorization: `Bearer ${o.token}`, "x-upsert": "false" },
        metadata: {
          bucketName: o.bucket,
          objectName: o.name,
          contentType: o.contentType ?? "application/octet-stream",
          cacheControl: "3600",
        },
        onProgress: (sent) => o.onProgress?.(sent, upload),
        onError: (e) => {
          const status = (e as tus.DetailedError).originalResponse?.getStatus();
          reject(Object.assign(new Error(`tus: ${e.message}`), { status }));
        },
        onSuccess: () => resolve(upload.url!),
      },
    );
    upload.start();
  });
}

async function tusStatus(bytes: Uint8Array, o: TusOptions): Promise<number | undefined> {
  try {
    await tusUpload(bytes, o);
    return 200;
  } catch (e) {
    return (e as { status?: number }).status;
  }
}

Deno.test({
  name: "storage: supabase-js and tus-js-client against /storage/v1",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const sql = adminSql();
    await setUp(sql);
    try {
      const a = await signedInUser();
      const b = await signedInUser();
      const text = (s: string) => new Blob([s], { type: "text/plain" });

      await t.step("upload, download, list and remove a user's own object", async () => {
        const store = a.client.storage.from(BUCKET);
        const path = `${a.id}/notes/hello.txt`;
        const up = await store.upload(path, text("hello storage"));
        assert(!up.error, `upload failed: ${up.error?.message}`);
        assert(up.data.fullPath === `${BUCKET}/${path}` && up.data.id, "upload answer wrong");

        const [row] = await sql<{ owner_id: string; metadata: Record<string, unknown> }[]>`
          select owner_id, metadata from storage.objects where bucket_id = ${BUCKET}
            and name = ${path}`;
        assert(row?.owner_id === a.id, "owner_id is not the uploader");
        assert(row.metadata.size === 13 && row.metadata.mimetype === "text/plain", "metadata");
        assert(row.metadata.cacheControl === "max-age=3600", "cacheControl not stored");

        const down = await store.download(path);
        assert(!down.error && (await down.data.text()) === "hello storage", "download differs");

        const root = await store.list(a.id);
        assert(!root.error, `list failed: ${root.error?.message}`);
        const folder = root.data.find((e) => e.name === "notes");
        assert(folder && folder.id === null, "folder entry missing or has an id");
        const inner = await store.list(`${a.id}/notes`);
        const file = inner.data?.find((e) => e.name === "hello.txt");
        assert(file?.id && file.metadata?.size === 13, "file entry missing its metadata");
        const searched = await store.list(`${a.id}/notes`, { search: "nope" });
        assert(searched.data?.length === 0, "search did not filter");

        const removed = await store.remove([path]);
        assert(!removed.error && removed.data.length === 1, "remove did not report the object");
        const gone = await store.download(path);
        assert(gone.error, "object still downloadable after remove");
      });

      await t.step("conflicts: 409 without upsert, overwrite with upsert and update", async () => {
        const store = a.client.storage.from(BUCKET);
        const path = `${a.id}/dup.txt`;
        assert(!(await store.upload(path, text("one"))).error, "first upload failed");
        const again = await store.upload(path, text("two"));
        assert(again.error, "duplicate upload accepted");
        assert((again.error as { statusCode?: string }).statusCode === "409", "not a 409");
        assert(!(await store.upload(path, text("two"), { upsert: true })).error, "upsert failed");
        assert((await (await store.download(path)).data!.text()) === "two", "upsert not stored");
        assert(!(await store.update(path, text("three"))).error, "update failed");
        assert((await (await store.download(path)).data!.text()) === "three", "update lost");
        const moved = await store.move(path, `${a.id}/moved.txt`);
        assert(!moved.error, `move failed: ${moved.error?.message}`);
        assert((await store.download(path)).error, "moved object still at the old path");
        assert((await (await store.download(`${a.id}/moved.txt`)).data!.text()) === "three", "mv");
      });

      await t.step("RLS: another user and anon cannot touch a user's folder", async () => {
        const path = `${a.id}/private.txt`;
        assert(!(await a.client.storage.from(BUCKET).upload(path, text("secret"))).error, "up");
        const asB = b.client.storage.from(BUCKET);

        const intrude = await asB.upload(`${a.id}/intruder.txt`, text("x"));
        assert(intrude.error, "B uploaded into A's folder");
        const e = intrude.error as { statusCode?: string; message: string };
        assert(e.statusCode === "403", `statusCode ${e.statusCode}`);
        assert(e.message === "new row violates row-level security policy", e.message);

        assert((await asB.download(path)).error, "B read A's object");
        const listed = await asB.list(a.id);
        assert(!listed.error && listed.data.length === 0, "B listed A's folder");
        const removed = await asB.remove([path]);
        assert(!removed.error && removed.data.length === 0, "B's remove reported A's object");
        assert(!(await a.client.storage.from(BUCKET).download(path)).error, "B deleted A's file");
        assert((await asB.move(path, `${b.id}/stolen.txt`)).error, "B moved A's object");
        assert((await asB.createSignedUrl(path, 60)).error, "B signed A's object");

        const anon = anonClient().storage.from(BUCKET);
        const anonUp = await anon.upload(`${a.id}/anon.txt`, text("x"));
        assert((anonUp.error as { statusCode?: string })?.statusCode === "403", "anon uploaded");
        assert((await anon.download(path)).error, "anon read a private object");

        // Own folder still works for B, and the service role sees everything.
        assert(!(await asB.upload(`${b.id}/mine.txt`, text("b"))).error, "B own upload failed");
        assert(!(await serviceClient().storage.from(BUCKET).download(path)).error, "service");
      });

      await t.step("signed URLs: work until they expire, only for their object", async () => {
        const store = a.client.storage.from(BUCKET);
        const path = `${a.id}/signed.txt`;
        assert(!(await store.upload(path, text("signed bytes"))).error, "upload failed");
        const signed = await store.createSignedUrl(path, 60);
        assert(!signed.error, `sign failed: ${signed.error?.message}`);
        const res = await fetch(signed.data.signedUrl);
        assert(res.ok && (await res.text()) === "signed bytes", "signed URL did not serve bytes");

        const many = await store.createSignedUrls([path, `${a.id}/missing.txt`], 60);
        assert(!many.error && many.data.length === 2, "createSignedUrls failed");
        assert(many.data[0].signedUrl && !many.data[0].error, "existing path not signed");
        assert(many.data[1].error && !many.data[1].signedUrl, "missing path signed");

        const token = new URL(signed.data.signedUrl).searchParams.get("token")!;
        const other = `${stackEnv().SUPABASE_URL}/storage/v1/object/sign/${BUCKET}/${a.id}/x.txt`;
        const wrongPath = await fetch(`${other}?token=${token}`);
        assert(wrongPath.status === 400, `token reused for another path: ${wrongPath.status}`);
        await wrongPath.body?.cancel();
        // The signature's first character, not its last: in base64url the last one may carry
        // only padding bits, and changing them leaves the signature valid.
        const [header, payload, signature] = token.split(".");
        const forged = `${header}.${payload}.${signature[0] === "A" ? "B" : "A"}${
          signature.slice(1)
        }`;
        const tampered = await fetch(signed.data.signedUrl.replace(token, forged));
        assert(tampered.status === 400, `tampered token accepted: ${tampered.status}`);
        await tampered.body?.cancel();

        const short = await store.createSignedUrl(path, 1);
        await new Promise((r) => setTimeout(r, 2100));
        const expired = await fetch(short.data!.signedUrl);
        const body = await expired.json();
        assert(expired.status === 400, `expired URL status ${expired.status}`);
        assert(body.error === "InvalidJWT" && body.message === "jwt expired", JSON.stringify(body));
      });

      await t.step("signed upload URL and public bucket", async () => {
        const store = a.client.storage.from(PUBLIC);
        const path = `${a.id}/via-token.txt`;
        const made = await store.createSignedUploadUrl(path);
        assert(!made.error, `createSignedUploadUrl failed: ${made.error?.message}`);
        const up = await anonClient().storage.from(PUBLIC).uploadToSignedUrl(
          path,
          made.data.token,
          text("by token"),
        );
        assert(!up.error, `uploadToSignedUrl failed: ${up.error?.message}`);
        const res = await fetch(store.getPublicUrl(path).data.publicUrl);
        assert(res.ok && (await res.text()) === "by token", "public URL did not serve the object");
        const privateRes = await fetch(
          `${stackEnv().SUPABASE_URL}/storage/v1/object/public/${BUCKET}/${a.id}/signed.txt`,
        );
        assert(privateRes.status >= 400, "private bucket served through /object/public");
        await privateRes.body?.cancel();
      });

      await t.step("bucket limits: size (413) and MIME type (415), also through TUS", async () => {
        const store = a.client.storage.from(LIMITED);
        const big = await store.upload(`${a.id}/big.txt`, text("x".repeat(LIMITED_BYTES + 1)));
        assert((big.error as { statusCode?: string })?.statusCode === "413", "size not enforced");
        const png = await store.upload(
          `${a.id}/a.png`,
          new Blob([new Uint8Array(10)], {
            type: "image/png",
          }),
        );
        const pngCode = (png.error as { statusCode?: string })?.statusCode;
        assert(pngCode === "415", `mime not enforced: ${pngCode}`);
        const wav = await store.upload(
          `${a.id}/a.wav`,
          new Blob([new Uint8Array(10)], {
            type: "audio/wav",
          }),
        );
        assert(!wav.error, `audio/* rejected: ${wav.error?.message}`);

        const o = {
          token: a.token,
          bucket: LIMITED,
          name: `${a.id}/t.wav`,
          contentType: "audio/wav",
        };
        assert(await tusStatus(randomBytes(LIMITED_BYTES + 1), o) === 413, "TUS size not enforced");
        const tusPng = await tusStatus(randomBytes(10), { ...o, contentType: "image/png" });
        assert(tusPng === 415, `TUS mime not enforced: ${tusPng}`);
        assert(await tusStatus(randomBytes(100), o) === 200, "small TUS upload refused");
      });

      await t.step(
        "content types: one media type per object, served so it runs no script",
        async () => {
          // Hosted Storage checks a Content-Type against allowed_mime_types by its type and subtype
          // (supabase/storage src/storage/uploader.ts validateMimeType, `audio/*` wildcards) and
          // serves objects with X-Robots-Tag: none and any type naming text/html as text/plain
          // (src/storage/renderer/renderer.ts setHeaders, normalizeContentType); Content-Disposition
          // only with ?download. https://supabase.com/docs/guides/storage/buckets/fundamentals
          // The local stack serves Storage from the web app's origin, where a browser would run a
          // stored page with the app's session in reach, so it is stricter (issue 26, finding 8):
          // a Content-Type must be one media type (RFC 9110 §8.3.1; "audio/mpeg, text/html" is a
          // list whose last entry a browser uses), and every object carries nosniff and a
          // `sandbox` CSP, which gives a rendered object an opaque origin.
          const url = stackEnv().SUPABASE_URL;
          const local = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url);
          const headers = { authorization: `Bearer ${a.token}`, apikey: apiKeys().publishable };
          if (local) {
            for (
              const type of [
                "audio/mpeg, text/html",
                "audio/mpeg,image/svg+xml",
                "audio/mpeg; codecs=x, text/html",
                "audio/mpeg text/html",
                "audio/",
                "audio",
              ]
            ) {
              const res = await fetch(`${url}/storage/v1/object/${LIMITED}/${a.id}/list.mp3`, {
                method: "POST",
                headers: { ...headers, "content-type": type },
                body: new Uint8Array(10),
              });
              const body = await res.json();
              assert(res.status === 415 || res.status === 400, `${type}: ${res.status}`);
              assert(body.error === "invalid_mime_type", `${type}: ${JSON.stringify(body)}`);
              const o = {
                token: a.token,
                bucket: LIMITED,
                name: `${a.id}/l.mp3`,
                contentType: type,
              };
              assert(await tusStatus(randomBytes(10), o) === 415, `TUS accepted ${type}`);
            }
          }
          const store = a.client.storage.from(BUCKET);
          for (const [name, type] of [["page.html", "text/html"], ["pic.svg", "image/svg+xml"]]) {
            const path = `${a.id}/${name}`;
            const up = await store.upload(path, new Blob(["<script>1</script>"], { type }));
            assert(!up.error, `${type} upload failed: ${up.error?.message}`);
            const signed = await store.createSignedUrl(path, 60);
            const res = await fetch(signed.data!.signedUrl);
            await res.body?.cancel();
            const served = res.headers.get("content-type") ?? "";
            if (type === "text/html") assert(served === "text/plain", `served as ${served}`);
            assert(res.headers.get("x-robots-tag") === "none", "x-robots-tag");
            if (local) {
              assert(res.headers.get("x-content-type-options") === "nosniff", "nosniff");
              const csp = res.headers.get("content-security-policy") ?? "";
              assert(/(^|;)\s*sandbox\s*(;|$)/.test(csp), `${type}: csp ${csp}`);
            }
          }
        },
      );

      await t.step("object names that could leave the bucket are refused", async () => {
        const base = `${stackEnv().SUPABASE_URL}/storage/v1/object/${BUCKET}`;
        for (
          const name of [`${a.id}%2F..%2F..%2Fescape.txt`, `${a.id}%2Fa%5Cb.txt`, `${a.id}%2Fa%00b`]
        ) {
          const res = await fetch(`${base}/${name}`, {
            method: "POST",
            headers: { authorization: `Bearer ${a.token}`, "content-type": "text/plain" },
            body: "x",
          });
          assert(res.status === 400, `${name} answered ${res.status}`);
          await res.body?.cancel();
        }
        const viaTus = await tusStatus(randomBytes(10), {
          token: a.token,
          bucket: BUCKET,
          name: `${a.id}/../../escape.txt`,
        });
        assert(viaTus === 400, `TUS objectName with .. answered ${viaTus}`);
      });

      await t.step("TUS: RLS at creation, and an upload belongs to its creator", async () => {
        const status = await tusStatus(randomBytes(10), {
          token: b.token,
          bucket: BUCKET,
          name: `${a.id}/tus-intruder.bin`,
        });
        assert(status === 403, `B created a TUS upload in A's folder: ${status}`);

        const res = await fetch(tusEndpoint(), {
          method: "POST",
          headers: {
            authorization: `Bearer ${a.token}`,
            "tus-resumable": "1.0.0",
            "upload-length": "10",
            "upload-metadata": `bucketName ${btoa(BUCKET)},objectName ${btoa(`${a.id}/own.bin`)}`,
          },
        });
        assert(res.status === 201, `creation answered ${res.status}`);
        const location = res.headers.get("location")!;
        assert(location.startsWith(`${tusEndpoint()}/`), `Location not absolute: ${location}`);
        const head = await fetch(location, {
          method: "HEAD",
          headers: { authorization: `Bearer ${b.token}`, "tus-resumable": "1.0.0" },
        });
        assert(head.status === 403, `B could inspect A's upload: ${head.status}`);
        const noAuth = await fetch(location, {
          method: "HEAD",
          headers: { "tus-resumable": "1.0.0" },
        });
        assert(noAuth.status === 401, `no token answered ${noAuth.status}`);
        const ended = await fetch(location, {
          method: "DELETE",
          headers: { authorization: `Bearer ${a.token}`, "tus-resumable": "1.0.0" },
        });
        assert(ended.status === 204, `terminating the upload answered ${ended.status}`);
      });

      await t.step("TUS: a 50 MB upload in 6 MB chunks arrives intact", async () => {
        const bytes = randomBytes(50 * MiB);
        const path = `${a.id}/big/50mb.bin`;
        await tusUpload(bytes, { token: a.token, bucket: BUCKET, name: path });
        const down = await a.client.storage.from(BUCKET).download(path);
        assert(!down.error, `download failed: ${down.error?.message}`);
        const got = new Uint8Array(await down.data.arrayBuffer());
        assert(got.byteLength === bytes.byteLength, `size ${got.byteLength}`);
        assert(await sha256(got) === await sha256(bytes), "SHA-256 differs");
        const [row] = await sql<{ owner_id: string; size: number }[]>`
          select owner_id, (metadata->>'size')::bigint::float8 as size from storage.objects
          where bucket_id = ${BUCKET} and name = ${path}`;
        assert(row?.owner_id === a.id && row.size === 50 * MiB, "row missing or wrong");
      });

      await t.step(
        "TUS: an upload dropped mid-chunk resumes from the server's offset",
        async () => {
          const bytes = randomBytes(20 * MiB);
          const path = `${a.id}/big/resumed.bin`;
          const o = { token: a.token, bucket: BUCKET, name: path, chunkSize: 5 * MiB };
          let url: string | undefined;
          await new Promise<void>((resolve, reject) => {
            tusUpload(bytes, {
              ...o,
              onProgress: (sent, upload) => {
                url = upload.url ?? undefined;
                // Abort while the third chunk is on the wire: a dropped connection.
                if (sent > 12 * MiB) upload.abort(false).then(() => resolve(), reject);
              },
            }).then(() => reject(new Error("upload finished before it was aborted")), reject);
          });
          assert(url, "no upload URL before the abort");
          let offset = 0;
          for (let i = 0; i < 50; i++) {
            // The server may still be draining the aborted request; HEAD waits for its lock.
            const head = await fetch(url, {
              method: "HEAD",
              headers: { authorization: `Bearer ${a.token}`, "tus-resumable": "1.0.0" },
            });
            offset = Number(head.headers.get("upload-offset"));
            if (head.ok) break;
            await new Promise((r) => setTimeout(r, 100));
          }
          assert(offset >= 10 * MiB && offset < 20 * MiB, `offset after the drop: ${offset}`);
          let firstProgress: number | undefined;
          await tusUpload(bytes, {
            ...o,
            uploadUrl: url,
            onProgress: (sent) => (firstProgress ??= sent),
          });
          assert(firstProgress !== undefined && firstProgress >= offset, "resume started over");
          const down = await a.client.storage.from(BUCKET).download(path);
          assert(!down.error, `download failed: ${down.error?.message}`);
          assert(
            await sha256(await down.data.arrayBuffer()) === await sha256(bytes),
            "SHA differs",
          );
        },
      );

      await t.step("bucket admin with the service role", async () => {
        const storage = serviceClient().storage;
        const id = `conf-admin-${run}`;
        const made = await storage.createBucket(id, {
          public: false,
          fileSizeLimit: "5MB",
          allowedMimeTypes: ["audio/*"],
        });
        assert(!made.error && made.data.name === id, `createBucket: ${made.error?.message}`);
        const got = await storage.getBucket(id);
        assert(got.data?.file_size_limit === 5_000_000, "file_size_limit not parsed");
        assert(got.data?.allowed_mime_types?.[0] === "audio/*", "allowed_mime_types lost");
        const all = await storage.listBuckets();
        assert(all.data?.some((x) => x.id === id), "listBuckets misses the bucket");
        assert(!(await storage.deleteBucket(id)).error, "deleteBucket failed");
        assert((await storage.getBucket(id)).error, "bucket still there");
        const anonMade = await anonClient().storage.createBucket(`conf-anon-${run}`);
        assert(anonMade.error, "anon created a bucket");
      });
    } finally {
      await tearDown(sql);
      await sql.end();
    }
  },
});
