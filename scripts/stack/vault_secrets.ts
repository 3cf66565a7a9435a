/**
 * The SQL that stores the two Vault secrets the dispatcher reads (functions_url and
 * service_role_key), creating or updating each. Shared by the local stack and the deploy script.
 */
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
