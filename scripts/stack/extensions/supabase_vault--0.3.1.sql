-- Stack implementation of Supabase Vault's SQL API. Secrets are stored encrypted with pgcrypto
-- under a random key kept in a table only the owner can read; the view decrypts them.
\echo Use "CREATE EXTENSION supabase_vault" to load this file. \quit

create schema if not exists vault;

create table vault._root_key (
  singleton boolean primary key default true check (singleton),
  key text not null
);
insert into vault._root_key (key) values (encode(extensions.gen_random_bytes(32), 'hex'));
revoke all on vault._root_key from public;

create table vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- s2k-mode=1: the key is already 256 random bits, so pgcrypto's default iterated key
-- derivation (s2k-mode=3, tens of thousands of hash rounds) would only cost time on every read,
-- about 1-3 ms per secret on the benchmark machine, read by every dispatch. Supabase's Vault
-- (libsodium AEAD) derives no key either. Decryption reads the mode from each ciphertext.
create function vault._encrypt(plain text) returns text
language sql volatile security definer
set search_path = ''
as $$
  select encode(
    extensions.pgp_sym_encrypt(plain, (select key from vault._root_key), 's2k-mode=1'), 'base64')
$$;

-- plpgsql, not sql: a SQL function with a SET clause is planned again at every call, which
-- cost 0.1 ms a secret against 0.02 ms for the decryption itself (Supabase's Vault decrypts in
-- C, in microseconds).
create function vault._decrypt(cipher text) returns text
language plpgsql stable security definer
set search_path = ''
as $$
begin
  return extensions.pgp_sym_decrypt(decode(cipher, 'base64'), (select key from vault._root_key));
end;
$$;

create view vault.decrypted_secrets as
  select id, name, description, secret, vault._decrypt(secret) as decrypted_secret,
         key_id, nonce, created_at, updated_at
  from vault.secrets;

create function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
) returns uuid
language sql
as $$
  insert into vault.secrets (secret, name, description, key_id)
  values (vault._encrypt(new_secret), new_name, coalesce(new_description, ''), new_key_id)
  returning id
$$;

create function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
) returns void
language sql
as $$
  update vault.secrets set
    secret = coalesce(vault._encrypt(new_secret), secret),
    name = coalesce(new_name, name),
    description = coalesce(new_description, description),
    key_id = coalesce(new_key_id, key_id),
    updated_at = now()
  where id = secret_id
$$;

revoke all on schema vault from public;
revoke all on all tables in schema vault from public;
revoke all on all functions in schema vault from public;
grant usage on schema vault to postgres, service_role;
grant select, insert, update, delete on vault.secrets, vault.decrypted_secrets to postgres, service_role;
grant execute on function vault.create_secret(text, text, text, uuid),
  vault.update_secret(uuid, text, text, text, uuid) to postgres, service_role;
grant execute on function vault._encrypt(text), vault._decrypt(text) to postgres, service_role;
