/**
 * The SQL that stores the two Vault secrets the dispatcher reads (functions_url and
 * secret_key: the project's secret key `sb_secret_…`, sent as `apikey`), creating or updating
 * each. Shared by the local stack and the deploy script.
 */

/** Names of the two secrets (private.settings functions_url_secret / service_key_secret). */
export const VAULT_FUNCTIONS_URL = "functions_url";
export const VAULT_SECRET_KEY = "secret_key";

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function upsertVaultSecretSql(name: string, value: string): string {
  const n = literal(name);
  const v = literal(value);
  return `select case when exists (select 1 from vault.secrets where name = ${n})
     then (select vault.update_secret(id, ${v}) from vault.secrets where name = ${n})::text
     else vault.create_secret(${v}, ${n})::text end;`;
}
