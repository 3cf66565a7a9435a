-- Stack implementation of pg_net's SQL API. Same functions, parameters, defaults and tables as
-- Supabase's pg_net; requests are queued rows and leave only after the inserting transaction
-- commits (the worker is woken by NOTIFY, which Postgres delivers at commit, never on rollback).
\echo Use "CREATE EXTENSION pg_net" to load this file. \quit

create schema if not exists net;

create type net.http_method as enum ('GET', 'POST', 'DELETE');

create unlogged table net.http_request_queue (
  id bigserial not null,
  method net.http_method not null,
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds integer not null
);

create unlogged table net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index _http_response_created_idx on net._http_response (created);

create function net._urlencode_params(url text, params jsonb) returns text
language sql immutable
as $$
  select case
    when params is null or params = '{}'::jsonb then url
    else url || case when position('?' in url) > 0 then '&' else '?' end || (
      select string_agg(
        replace(replace(replace(replace(key, '%', '%25'), '&', '%26'), '=', '%3D'), ' ', '%20')
          || '=' ||
        replace(replace(replace(replace(value, '%', '%25'), '&', '%26'), '=', '%3D'), ' ', '%20'),
        '&')
      from jsonb_each_text(params)
    )
  end
$$;

create function net._enqueue(
  method net.http_method,
  url text,
  headers jsonb,
  body bytea,
  timeout_milliseconds integer
) returns bigint
language plpgsql
as $$
declare
  request_id bigint;
begin
  if url is null or url !~* '^https?://' then
    raise exception 'pg_net: url must start with http:// or https://, got %', url;
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values (method, url, coalesce(headers, '{}'::jsonb), body, timeout_milliseconds)
  returning id into request_id;
  -- Delivered only if and when this transaction commits.
  perform pg_notify('pg_net_wake', '');
  return request_id;
end;
$$;

create function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql
as $$
  select net._enqueue('GET', net._urlencode_params(url, params), headers, null, timeout_milliseconds)
$$;

create function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql
as $$
begin
  if body is not null and coalesce(headers ->> 'Content-Type', headers ->> 'content-type', '') = '' then
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  end if;
  return net._enqueue(
    'POST',
    net._urlencode_params(url, params),
    headers,
    case when body is null then null else convert_to(body::text, 'UTF8') end,
    timeout_milliseconds
  );
end;
$$;

create function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000,
  body jsonb default null
) returns bigint
language sql
as $$
  select net._enqueue(
    'DELETE',
    net._urlencode_params(url, params),
    headers,
    case when body is null then null else convert_to(body::text, 'UTF8') end,
    timeout_milliseconds
  )
$$;

-- Supabase exposes these to postgres and service_role only.
revoke all on schema net from public;
revoke all on all functions in schema net from public;
grant usage on schema net to postgres, service_role;
grant execute on all functions in schema net to postgres, service_role;
grant select, insert, update, delete on all tables in schema net to postgres, service_role;
grant usage on all sequences in schema net to postgres, service_role;
