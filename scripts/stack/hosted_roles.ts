/**
 * The stack's stand-in for supautils (scripts/stack/hosted_roles/): built at start with gcc and
 * PGXS (postgresql-server-dev-15), cached by content hash in the stack directory, loaded through
 * shared_preload_libraries with the settings a hosted project's supautils has (README, "The
 * database as hosted").
 */
import type { StackConfig } from "./config.ts";
import { join } from "node:path";
import { sha256Hex } from "../lib/digest.ts";

const sourceDir = (config: StackConfig) => join(config.root, "scripts/stack/hosted_roles");

/** The superuser the base and the stack's services use; the bootstrap user of a new cluster. */
export const SUPERUSER = "supabase_admin";

/**
 * supautils.privileged_extensions of a hosted project (supabase/postgres,
 * ansible/files/postgresql_config/conf.d/supautils.conf).
 */
export const PRIVILEGED_EXTENSIONS = [
  "address_standardizer",
  "address_standardizer_data_us",
  "autoinc",
  "bloom",
  "btree_gin",
  "btree_gist",
  "citext",
  "cube",
  "dblink",
  "dict_int",
  "dict_xsyn",
  "earthdistance",
  "fuzzystrmatch",
  "hstore",
  "http",
  "hypopg",
  "index_advisor",
  "insert_username",
  "intarray",
  "isn",
  "ltree",
  "moddatetime",
  "orioledb",
  "pg_buffercache",
  "pg_cron",
  "pg_graphql",
  "pg_hashids",
  "pg_jsonschema",
  "pg_net",
  "pg_prewarm",
  "pg_repack",
  "pg_stat_monitor",
  "pg_stat_statements",
  "pg_tle",
  "pg_trgm",
  "pg_walinspect",
  "pgaudit",
  "pgcrypto",
  "pgjwt",
  "pgroonga",
  "pgroonga_database",
  "pgrouting",
  "pgrowlocks",
  "pgsodium",
  "pgstattuple",
  "pgtap",
  "plcoffee",
  "pljava",
  "plls",
  "plpgsql_check",
  "plv8",
  "postgis",
  "postgis_raster",
  "postgis_sfcgal",
  "postgis_tiger_geocoder",
  "postgis_topology",
  "postgres_fdw",
  "refint",
  "rum",
  "seg",
  "sslinfo",
  "supabase_vault",
  "supautils",
  "tablefunc",
  "tcn",
  "timescaledb",
  "tsm_system_rows",
  "tsm_system_time",
  "unaccent",
  "uuid-ossp",
  "vector",
  "wrappers",
];

/**
 * The tables of supautils.policy_grants and supautils.drop_trigger_grants for postgres (the
 * same list on hosted), limited to the ones the stack has.
 */
export const GRANTED_TABLES = [
  "auth.refresh_tokens",
  "auth.sessions",
  "auth.users",
  "realtime.messages",
  "storage.buckets",
  "storage.objects",
];

/** supautils.reserved_roles (a trailing `*`: postgres may still change its settings). */
export const RESERVED_ROLES = [
  "supabase_admin",
  "supabase_auth_admin",
  "supabase_storage_admin",
  "supabase_read_only_user",
  "supabase_realtime_admin",
  "supabase_replication_admin",
  "dashboard_user",
  "pgbouncer",
  "service_role*",
  "authenticator*",
  "authenticated*",
  "anon*",
];

/** supautils.reserved_memberships. */
export const RESERVED_MEMBERSHIPS = [
  "pg_read_server_files",
  "pg_write_server_files",
  "pg_execute_server_program",
  "supabase_admin",
  "supabase_auth_admin",
  "supabase_storage_admin",
  "supabase_read_only_user",
  "supabase_realtime_admin",
  "supabase_replication_admin",
  "supabase_etl_admin",
  "dashboard_user",
  "pgbouncer",
  "authenticator",
];

/** supautils.privileged_role_allowed_configs: superuser-only settings postgres may SET. */
export const ALLOWED_CONFIGS = [
  "auto_explain.*",
  "log_lock_waits",
  "log_min_duration_statement",
  "log_min_messages",
  "log_parameter_max_length",
  "log_replication_commands",
  "log_statement",
  "log_temp_files",
  "pg_net.batch_size",
  "pg_net.ttl",
  "pg_stat_statements.*",
  "pgaudit.log",
  "pgaudit.log_catalog",
  "pgaudit.log_client",
  "pgaudit.log_level",
  "pgaudit.log_relation",
  "pgaudit.log_rows",
  "pgaudit.log_statement",
  "pgaudit.log_statement_once",
  "pgaudit.role",
  "pgrst.*",
  "plan_filter.*",
  "safeupdate.enabled",
  "session_replication_role",
  "track_io_timing",
  "wal_compression",
];

/** The password of the project's postgres role (SUPABASE_DB_URL). */
export const POSTGRES_PASSWORD = "postgres";

/**
 * pg_hba.conf: postgres signs in with its password over TCP, as on hosted (so a non-superuser
 * dblink or postgres_fdw connection works only with it); the stack's own roles are trusted on
 * loopback.
 */
export const PG_HBA = [
  "# Written by `deno task stack start` (scripts/stack/hosted_roles.ts).",
  "local all all trust",
  "host all postgres 127.0.0.1/32 scram-sha-256",
  "host all postgres ::1/128 scram-sha-256",
  "host all all 127.0.0.1/32 trust",
  "host all all ::1/128 trust",
].join("\n") + "\n";

/**
 * Builds hosted_roles.so for the server in config.pgBin, once per content (source, Makefile,
 * server version); returns its absolute path.
 */
export async function buildHostedRoles(config: StackConfig): Promise<string> {
  const pgConfig = join(config.pgBin, "pg_config");
  const files = ["hosted_roles.c", "Makefile"];
  const version = await new Deno.Command(pgConfig, { args: ["--version"], stdout: "piped" })
    .output();
  const hash = await sha256Hex(
    ...(await Promise.all(files.map((f) => Deno.readFile(join(sourceDir(config), f))))),
    version.stdout,
  );
  const buildDir = join(config.dir, "hosted_roles", hash.slice(0, 16));
  const library = join(buildDir, "hosted_roles.so");
  try {
    await Deno.stat(library);
    return library;
  } catch { /* not built yet */ }
  await Deno.mkdir(buildDir, { recursive: true });
  for (const f of files) await Deno.copyFile(join(sourceDir(config), f), join(buildDir, f));
  const out = await new Deno.Command("make", {
    // with_llvm=no: no JIT bitcode, so clang is not needed at build time.
    args: ["-C", buildDir, `PG_CONFIG=${pgConfig}`, "with_llvm=no"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `building scripts/stack/hosted_roles failed (needs gcc and postgresql-server-dev-15):\n` +
        new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
    );
  }
  // The postgres OS user loads it.
  for (const dir of [join(config.dir, "hosted_roles"), buildDir]) await Deno.chmod(dir, 0o755);
  // Earlier builds are no longer loaded once the server restarts with this one.
  for await (const entry of Deno.readDir(join(config.dir, "hosted_roles"))) {
    if (entry.name !== hash.slice(0, 16)) {
      await Deno.remove(join(config.dir, "hosted_roles", entry.name), { recursive: true });
    }
  }
  return library;
}

/** postgresql.conf settings that load hosted_roles with hosted's supautils configuration. */
export function hostedRolesSettings(config: StackConfig, library: string): string[] {
  const list = (items: string[]) => `'${items.join(", ")}'`;
  return [
    `shared_preload_libraries = 'pg_cron, ${library.replace(/\.so$/, "")}'`,
    `hosted_roles.privileged_role = 'postgres'`,
    `hosted_roles.superuser = '${SUPERUSER}'`,
    `hosted_roles.privileged_extensions = ${list(PRIVILEGED_EXTENSIONS)}`,
    `hosted_roles.extension_custom_scripts_path = '${
      join(sourceDir(config), "extension-custom-scripts")
    }'`,
    `hosted_roles.policy_grants = ${list(GRANTED_TABLES)}`,
    `hosted_roles.drop_trigger_grants = ${list(GRANTED_TABLES)}`,
    `hosted_roles.reserved_roles = ${list(RESERVED_ROLES)}`,
    `hosted_roles.reserved_memberships = ${list(RESERVED_MEMBERSHIPS)}`,
    `hosted_roles.privileged_role_allowed_configs = ${list(ALLOWED_CONFIGS)}`,
  ];
}
