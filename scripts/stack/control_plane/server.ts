/**
 * The local Management API (the control plane): the part of https://api.supabase.com/v1 that
 * `supabase link`, `config push`, `db push`, `functions deploy --use-api`, `secrets set|list`,
 * `projects api-keys` and `db query` call, for the stack's one project. The real CLI reaches it
 * through `--profile <file>` (controlPlaneProfile); README "Running on hosted Supabase" lists
 * what it answers and what not.
 *
 * As hosted: every call needs `Authorization: Bearer sbp_…` (the stack's token, in
 * `<stack dir>/control_plane/project.json`), errors are `{"message": …}` with the hosted status
 * (401 bad token, 404 unknown project or function, 400 bad input), and a failed call changes
 * nothing: an upload is stored as a new version before anything goes live, and a bulk update
 * names only uploads that exist or is refused whole.
 */
import type postgres from "postgres";
import { z } from "zod";
import type { StackConfig } from "../config.ts";
import type { KeyRing } from "../keys.ts";
import { NULLABLE_AUTH_FIELDS } from "./auth_config_fields.ts";
import {
  bundlePath,
  ControlPlaneStore,
  type Deployment,
  type Identity,
  loadIdentity,
  SLUG,
  UploadError,
} from "./store.ts";
import { sha256Hex } from "../../lib/digest.ts";

/** The Management API's error body. */
class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const TOKEN = /^sbp_[0-9a-f]{40}$/;

const DeployMetadata = z.object({
  entrypoint_path: z.string().min(1),
  import_map_path: z.string().optional(),
  static_patterns: z.array(z.string()).optional(),
  verify_jwt: z.boolean().optional(),
  name: z.string().optional(),
});

const BulkUpdate = z.array(
  z.object({
    id: z.string(),
    slug: z.string().regex(SLUG),
    name: z.string(),
    status: z.enum(["ACTIVE", "REMOVED", "THROTTLED"]),
    version: z.number().int(),
  }).passthrough(),
);

const Secrets = z.array(z.object({
  name: z.string().min(1).max(256).regex(/^(?!SUPABASE_)/, "must not start with SUPABASE_"),
  value: z.string().max(24576),
}));

const RunQuery = z.object({ query: z.string().min(1), read_only: z.boolean().optional() });

/** The settings groups `config push` reads and writes, by their path below the project. */
const SETTINGS = new Map([
  ["config/auth", "auth"],
  ["config/storage", "storage"],
  ["postgrest", "postgrest"],
  ["config/database/postgres", "postgres"],
  ["config/database/pooler", "pooler"],
  ["config/realtime", "realtime"],
  ["network-restrictions", "network_restrictions"],
  ["ssl-enforcement", "ssl_enforcement"],
]);

/** Auth settings of a new hosted project (AuthConfigResponse names), the ones compared. */
const NEW_PROJECT_AUTH = {
  site_url: "http://localhost:3000",
  disable_signup: false,
  jwt_exp: 3600,
  external_anonymous_users_enabled: false,
  external_email_enabled: true,
  mailer_autoconfirm: false,
  rate_limit_anonymous_users: 30,
  refresh_token_rotation_enabled: true,
  security_refresh_token_reuse_interval: 10,
  security_captcha_enabled: false,
  security_captcha_provider: "hcaptcha",
};

/** A whole AuthConfigResponse: every field, null where a new project has no value. */
function authConfig(stored: Record<string, unknown>): Record<string, unknown> {
  return {
    ...Object.fromEntries(NULLABLE_AUTH_FIELDS.map((k) => [k, null])),
    mailer_otp_exp: 3600,
    passkey_enabled: false,
    mfa_phone_otp_length: 6,
    sms_otp_length: 6,
    oauth_server_enabled: false,
    oauth_server_allow_dynamic_registration: false,
    custom_oauth_enabled: false,
    custom_oauth_max_providers: 0,
    ...NEW_PROJECT_AUTH,
    ...stored,
  };
}

export interface ControlPlaneOptions {
  config: StackConfig;
  keys: KeyRing;
  /** Superuser pool of the stack's database (what `db query` runs on, as hosted). */
  admin: postgres.Sql;
  /** Called after functions went live, with their slugs. */
  onDeployed: (slugs: string[]) => Promise<void> | void;
  /** Called after the project's secrets changed. */
  onSecretsChanged?: () => Promise<void> | void;
}

export interface ControlPlane {
  handle(req: Request): Promise<Response>;
  identity: Identity;
  store: ControlPlaneStore;
}

function apiJson(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

const toResponse = (d: Deployment) => ({
  id: d.id,
  slug: d.slug,
  name: d.name,
  status: "ACTIVE",
  version: d.version,
  created_at: d.created_at,
  updated_at: d.updated_at,
  verify_jwt: d.verify_jwt,
  import_map: d.import_map_path !== undefined,
  entrypoint_path: d.entrypoint_path,
  ...(d.import_map_path ? { import_map_path: d.import_map_path } : {}),
  ezbr_sha256: d.sha256,
});

export async function createControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { config, keys } = options;
  const identity = await loadIdentity(config.dir);
  const store = new ControlPlaneStore(config.dir);
  const projectHost = "localhost";

  function project() {
    return {
      id: identity.ref,
      ref: identity.ref,
      organization_id: "local",
      organization_slug: "local",
      name: "ai-subs (local stack)",
      region: "local",
      created_at: new Date(0).toISOString(),
      status: "ACTIVE_HEALTHY",
      database: {
        host: `db.${identity.ref}.${projectHost}`,
        version: "15.8",
        postgres_engine: "15",
        release_channel: "ga",
      },
    };
  }

  function apiKeys(reveal: boolean) {
    const k = keys.keys;
    const mask = (key: string) => reveal ? key : `${key.slice(0, key.indexOf("_", 3) + 1)}····`;
    return [
      ...(keys.legacy
        ? [
          { name: "anon", api_key: k.anonKey, type: "legacy", id: "anon" },
          { name: "service_role", api_key: k.serviceRoleKey, type: "legacy", id: "service_role" },
        ]
        : []),
      {
        name: "default",
        api_key: k.publishableKey,
        type: "publishable",
        id: "publishable-default",
        prefix: k.publishableKey.slice(0, 20),
      },
      {
        name: "default",
        api_key: mask(k.secretKey),
        type: "secret",
        id: "secret-default",
        prefix: k.secretKey.slice(0, 14),
      },
    ];
  }

  /**
   * GET /v2/projects/{ref}/config, which `config push` compares config.toml with: the
   * settings stored by earlier pushes over the defaults of a new Free-plan project.
   */
  async function projectConfig() {
    const [auth, storage, postgrest, realtime, pooler, postgresSettings] = await Promise.all(
      ["auth", "storage", "postgrest", "realtime", "pooler", "postgres"].map((s) =>
        store.settings(s)
      ),
    );
    const enabled = (on = false) => ({ enabled: on });
    return {
      data: {
        type: "project_config",
        id: identity.ref,
        attributes: {
          database: {
            major_version: 15,
            ssl_enforced: false,
            network_restrictions: {
              entitlement: "disallowed",
              status: "applied",
              allowed_cidrs: [],
            },
            postgres_settings: postgresSettings,
          },
          pooler: {
            pool_mode: "transaction",
            ignore_startup_parameters: "",
            server_idle_timeout: 0,
            server_lifetime: 0,
            query_wait_timeout: 0,
            reserve_pool_size: 0,
            default_pool_size: 15,
            max_client_conn: 200,
            ...pooler,
          },
          auth: { ...NEW_PROJECT_AUTH, ...auth },
          api: {
            db_schema: "public,graphql_public",
            db_extra_search_path: "public,extensions",
            max_rows: 1000,
            db_pool_acquisition_timeout: 10,
            db_pool_max_lifetime: 1800,
            db_pool_max_idletime: 30,
            db_pool: null,
            ...postgrest,
          },
          realtime: {
            private_only: false,
            max_concurrent_users: 200,
            max_events_per_second: 100,
            max_bytes_per_second: 100000,
            max_channels_per_client: 100,
            max_joins_per_second: 100,
            max_presence_events_per_second: 100,
            max_payload_size_in_kb: 256,
            presence_enabled: true,
            suspend: false,
            connection_pool: 2,
            postgres_changes_pool: null,
            ...realtime,
          },
          storage: {
            file_size_limit: 52428800,
            features: {
              image_transformation: enabled(),
              s3_protocol: enabled(),
              purge_cache: enabled(),
              iceberg_catalog: { ...enabled(), max_namespaces: 0, max_tables: 0, max_catalogs: 0 },
              vector_buckets: { ...enabled(), max_buckets: 0, max_indexes: 0 },
            },
            capabilities: { list_v2: true, iceberg_catalog: false, object_versioning: false },
            upstream_target: "main",
            migration_version: null,
            ...storage,
          },
        },
      },
    };
  }

  async function deploy(req: Request, url: URL): Promise<Response> {
    const slug = url.searchParams.get("slug");
    const bundleOnly = url.searchParams.get("bundleOnly") === "true";
    let form: FormData;
    try {
      form = await req.formData();
    } catch (e) {
      throw new ApiError(400, `Invalid multipart body: ${(e as Error).message}`);
    }
    const rawMeta = form.get("metadata");
    const metaText = typeof rawMeta === "string" ? rawMeta : await rawMeta?.text();
    if (!metaText) throw new ApiError(400, "metadata is required");
    let meta: z.infer<typeof DeployMetadata>;
    try {
      meta = DeployMetadata.parse(JSON.parse(metaText));
    } catch (e) {
      throw new ApiError(400, `Invalid metadata: ${(e as Error).message}`);
    }
    const name = slug ?? meta.name;
    if (!name || !SLUG.test(name)) {
      throw new ApiError(400, `Invalid function slug: ${JSON.stringify(name ?? "")}`);
    }
    const files: { path: string; bytes: Uint8Array }[] = [];
    try {
      for (const part of form.getAll("file")) {
        if (typeof part === "string") throw new UploadError("file parts must be files");
        files.push({
          path: bundlePath(part.name),
          bytes: new Uint8Array(await part.arrayBuffer()),
        });
      }
      const entry = bundlePath(meta.entrypoint_path);
      if (!files.some((f) => f.path === entry)) {
        throw new UploadError(`entrypoint ${meta.entrypoint_path} is not among the uploaded files`);
      }
      if (meta.import_map_path) {
        const map = bundlePath(meta.import_map_path);
        if (!files.some((f) => f.path === map)) {
          throw new UploadError(
            `import map ${meta.import_map_path} is not among the uploaded files`,
          );
        }
      }
    } catch (e) {
      if (e instanceof UploadError) throw new ApiError(400, e.message);
      throw e;
    }
    const deployment = await store.storeUpload(name, {
      name: meta.name ?? name,
      verify_jwt: meta.verify_jwt ?? true,
      entrypoint_path: meta.entrypoint_path,
      import_map_path: meta.import_map_path || undefined,
      static_patterns: meta.static_patterns ?? [],
    }, files);
    if (!bundleOnly) {
      await store.activate([deployment]);
      await options.onDeployed([deployment.slug]);
    }
    return apiJson(toResponse(deployment), 201);
  }

  async function bulkUpdate(req: Request): Promise<Response> {
    const parsed = BulkUpdate.safeParse(await req.json().catch(() => undefined));
    if (!parsed.success) throw new ApiError(400, `Invalid body: ${parsed.error.message}`);
    const deployments: Deployment[] = [];
    for (const item of parsed.data) {
      const d = await store.deployment(item.slug, item.version);
      if (!d || d.id !== item.id) {
        throw new ApiError(404, `Function ${item.slug} version ${item.version} was not found`);
      }
      deployments.push(d);
    }
    await store.activate(deployments);
    await options.onDeployed(deployments.map((d) => d.slug));
    return apiJson({ functions: deployments.map(toResponse) });
  }

  async function runQuery(req: Request): Promise<Response> {
    const parsed = RunQuery.safeParse(await req.json().catch(() => undefined));
    if (!parsed.success) throw new ApiError(400, `Invalid body: ${parsed.error.message}`);
    try {
      const rows = await options.admin.begin(async (sql) => {
        if (parsed.data.read_only) await sql.unsafe("set transaction read only");
        return await sql.unsafe(parsed.data.query);
      });
      // A multi-statement query answers with the last statement's rows.
      const last = Array.isArray(rows) && Array.isArray(rows.at?.(-1)) ? rows.at(-1) : rows;
      return apiJson([...(last as Iterable<unknown>)], 201);
    } catch (e) {
      throw new ApiError(400, `Failed to run sql query: ERROR: ${(e as Error).message}`);
    }
  }

  async function route(req: Request, url: URL): Promise<Response> {
    const token = req.headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!token || !TOKEN.test(token) || token !== identity.accessToken) {
      throw new ApiError(401, "Unauthorized");
    }
    const path = url.pathname.replace(/\/+$/, "");
    if (path === "/v1/projects" && req.method === "GET") return apiJson([project()]);
    const m = path.match(/^\/(v1|v2)\/projects\/([^/]+)(?:\/(.*))?$/);
    if (!m) throw new ApiError(404, "Not found");
    const [, apiVersion, ref, rest = ""] = m;
    if (ref !== identity.ref) throw new ApiError(404, `Project ${ref} not found`);
    const method = req.method;
    if (apiVersion === "v2") {
      if (rest === "config" && method === "GET") return apiJson(await projectConfig());
      throw new ApiError(404, `${method} ${url.pathname} is not offered by the local stack`);
    }

    if (rest === "" && method === "GET") return apiJson(project());
    if (rest === "api-keys" && method === "GET") {
      return apiJson(apiKeys(url.searchParams.get("reveal") === "true"));
    }
    if (rest === "functions" && method === "GET") {
      return apiJson(Object.values(await store.active()).map(toResponse));
    }
    if (rest === "functions" && method === "PUT") return await bulkUpdate(req);
    if (rest === "functions/deploy" && method === "POST") return await deploy(req, url);
    const fn = rest.match(/^functions\/([^/]+)$/);
    if (fn && method === "GET") {
      const d = (await store.active())[fn[1]];
      if (!d) throw new ApiError(404, `Function ${fn[1]} not found`);
      return apiJson(toResponse(d));
    }
    if (rest === "secrets" && method === "GET") {
      // Hosted lists each value as its SHA-256 digest, never the value.
      const secrets = await store.secrets();
      return apiJson(
        await Promise.all(
          Object.entries(secrets).map(async ([name, value]) => ({
            name,
            value: await sha256Hex(value),
          })),
        ),
      );
    }
    if (rest === "secrets" && method === "POST") {
      const parsed = Secrets.safeParse(await req.json().catch(() => undefined));
      if (!parsed.success) throw new ApiError(400, `Invalid body: ${parsed.error.message}`);
      const secrets = await store.secrets();
      for (const { name, value } of parsed.data) secrets[name] = value;
      await store.setSecrets(secrets);
      await options.onSecretsChanged?.();
      return apiJson({}, 201);
    }
    if (rest === "secrets" && method === "DELETE") {
      const parsed = z.array(z.string()).safeParse(await req.json().catch(() => undefined));
      if (!parsed.success) throw new ApiError(400, `Invalid body: ${parsed.error.message}`);
      const secrets = await store.secrets();
      for (const name of parsed.data) delete secrets[name];
      await store.setSecrets(secrets);
      await options.onSecretsChanged?.();
      return apiJson({});
    }
    if (rest === "database/query" && method === "POST") return await runQuery(req);
    // A Free-plan project: no add-ons (config push reads them to decide what it may set).
    if (rest === "billing/addons" && method === "GET") {
      return apiJson({ selected_addons: [], available_addons: [] });
    }
    const service = SETTINGS.get(rest);
    const settings = async (name: string) => {
      const stored = await store.settings(name);
      return name === "auth" ? authConfig(stored) : stored;
    };
    if (service && method === "GET") return apiJson(await settings(service));
    if (service && (method === "PATCH" || method === "PUT")) {
      const body = await req.json().catch(() => undefined);
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        throw new ApiError(400, "Invalid body: expected a JSON object");
      }
      await store.updateSettings(service, body as Record<string, unknown>);
      return apiJson(await settings(service));
    }
    throw new ApiError(404, `${method} ${url.pathname} is not offered by the local stack`);
  }

  return {
    identity,
    store,
    async handle(req) {
      const url = new URL(req.url);
      try {
        return await route(req, url);
      } catch (e) {
        if (e instanceof ApiError) return apiJson({ message: e.message }, e.status);
        console.error(JSON.stringify({
          msg: "control plane error",
          path: url.pathname,
          error: String(e),
        }));
        return apiJson({ message: "Internal Server Error" }, 500);
      }
    },
  };
}
