-- Completion webhooks: a job whose options name a `webhook_url` gets one event posted there when
-- it completes or fails (each time it does: a retried job that completes sends again). Events
-- are signed in the Standard Webhooks format (https://www.standardwebhooks.com: headers
-- webhook-id, webhook-timestamp, webhook-signature = "v1,<base64 HMAC-SHA256>") with a secret
-- per user, which its owner reads and rotates through RPCs. pg_net sends them; deliveries that
-- get no 2xx answer in time are retried with exponential backoff by deliver_webhooks (pg_cron,
-- every minute) up to webhook_settings.max_attempts. Every delivery and its attempts are
-- recorded in public.webhook_deliveries, readable by the job's owner.

create extension if not exists pgcrypto with schema extensions;

-- One row, changed with a plain UPDATE by an operator.
create table private.webhook_settings (
  singleton boolean primary key default true check (singleton),
  -- Off on a hosted project: only https URLs to public addresses are accepted. The local
  -- stack's tests turn it on to receive events on loopback (plain http, 127.0.0.1).
  allow_private_urls boolean not null default false,
  max_attempts integer not null default 6 check (max_attempts between 1 and 20),
  -- Wait after failed attempt n: backoff_base_seconds × 2^(n-1), at most backoff_max_seconds
  -- (the minute tick of deliver_webhooks rounds it up).
  backoff_base_seconds numeric not null default 30 check (backoff_base_seconds >= 0),
  backoff_max_seconds numeric not null default 3600 check (backoff_max_seconds >= 0),
  timeout_ms integer not null default 5000 check (timeout_ms between 100 and 30000),
  -- Events one user may have sent in any hour, whatever made them (a deduplicated insert
  -- completes at once, outside the active limits): past it an event is recorded as failed with
  -- last_error 'rate_limited' and not sent, so inserts cannot be turned into a flood of posts.
  max_events_per_hour integer not null default 20 check (max_events_per_hour >= 0)
);
insert into private.webhook_settings default values on conflict do nothing;

insert into private.error_codes (code, message, retryable, http_status) values
  ('invalid_webhook_url', 'The webhook URL must be an https address on the public internet.', false, 400)
on conflict (code) do update
  set message = excluded.message, retryable = excluded.retryable, http_status = excluded.http_status;

-- Why `url` cannot receive webhooks (null when it can). Without allow_private_urls: https only,
-- no credentials in the URL, a host written only as every client reads it (ASCII letters,
-- digits, hyphens and dots, an international name in its xn-- form, or an IPv6 literal: a WHATWG
-- URL parser, as Deno's fetch, decodes "%31%32%37.0.0.%31", "127.0.0.1%2e" or full-width digits
-- into 127.0.0.1, while this check would read text), trailing dots ignored, no IP literal outside
-- public unicast space, no numeric host in a form other than a dotted quad (libcurl reads
-- "2130706433" or "127.1" as loopback), no single-label or local-only names. A public name that
-- resolves to a private address is not caught here (Postgres cannot resolve names); the README
-- says so.
create function private.webhook_url_problem(url text, allow_private boolean) returns text
language plpgsql immutable set search_path = ''
as $$
declare
  parts text[];
  host text;
  address inet;
begin
  if url is null or length(url) > 2048 then
    return 'must be a URL of at most 2048 characters';
  end if;
  parts := regexp_match(url, '^(https?)://([^/?#@]*@)?(\[[0-9A-Fa-f:.]+\]|[^/?#:@\[\]]+)(:[0-9]{1,5})?([/?#].*)?$');
  if parts is null then
    return 'must be an http(s) URL';
  end if;
  if parts[2] is not null then
    return 'must not contain a user name or password';
  end if;
  if allow_private then
    return null;
  end if;
  if parts[1] <> 'https' then
    return 'must use https';
  end if;
  host := lower(rtrim(parts[3], '.'));
  if host !~ '^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$' then
    return 'must name its host in plain ASCII (no percent-encoding; an international name as xn--)';
  end if;
  if host ~ '^\[.*\]$' or host ~ '^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$' then
    begin
      address := btrim(host, '[]')::inet;
    exception when others then
      return 'has a host that is not a valid address';
    end;
    if address <<= any (array[
      '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16',
      '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15',
      '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/3',
      '::/127', '::ffff:0:0/96', '64:ff9b::/96', '100::/64', '2001:db8::/32', 'fc00::/7',
      'fe80::/10', 'ff00::/8']::inet[]) then
      return 'must point to a public address';
    end if;
    return null;
  end if;
  -- Any other host ending in a number is numeric to libcurl (octal, hex, fewer parts).
  if host ~ '(^|\.)(0x[0-9a-f]*|[0-9]+)$' then
    return 'must name its host or use a plain dotted address';
  end if;
  if position('.' in host) = 0 or host ~ '(^|\.)(localhost|local|localdomain|internal|intranet|lan|home|corp|private|arpa)$' then
    return 'must point to a public host';
  end if;
  return null;
end;
$$;

-- The options.webhook_url of a submission, validated (called by normalize_options).
create function private.normalize_webhook_url(url jsonb) returns jsonb
language plpgsql stable set search_path = ''
as $$
declare
  problem text;
begin
  if jsonb_typeof(url) is distinct from 'string' then
    perform private.raise_error('invalid_webhook_url', 'options.webhook_url', 'must be a URL string');
  end if;
  problem := private.webhook_url_problem(url #>> '{}',
    (select s.allow_private_urls from private.webhook_settings s));
  if problem is not null then
    perform private.raise_error('invalid_webhook_url', 'options.webhook_url', problem);
  end if;
  return url;
end;
$$;

-- The signing secret of each user: "whsec_" + base64 of 32 random bytes (the Standard Webhooks
-- form; the bytes after the prefix are the HMAC key).
create table private.webhook_secrets (
  owner_id uuid primary key references auth.users (id) on delete cascade,
  secret text not null,
  rotated_at timestamptz not null default now()
);

create function private.new_webhook_secret() returns text
language sql volatile set search_path = ''
as $$ select 'whsec_' || encode(extensions.gen_random_bytes(32), 'base64') $$;

-- The user's secret, made on first use.
create function private.webhook_secret_of(owner uuid) returns text
language plpgsql security definer set search_path = ''
as $$
declare
  found_secret text;
begin
  insert into private.webhook_secrets (owner_id, secret) values (owner, private.new_webhook_secret())
  on conflict (owner_id) do nothing;
  select s.secret into found_secret from private.webhook_secrets s where s.owner_id = owner;
  return found_secret;
end;
$$;

-- The caller's webhook signing secret (created on first call).
create function public.webhook_secret() returns text
language plpgsql security definer set search_path = ''
as $$
begin
  if auth.uid() is null then
    perform private.raise_error('not_signed_in');
  end if;
  return private.webhook_secret_of(auth.uid());
end;
$$;

-- Replaces the caller's secret; attempts sent from now on are signed with the new one.
create function public.rotate_webhook_secret() returns text
language plpgsql security definer set search_path = ''
as $$
declare
  fresh text := private.new_webhook_secret();
begin
  if auth.uid() is null then
    perform private.raise_error('not_signed_in');
  end if;
  insert into private.webhook_secrets (owner_id, secret) values (auth.uid(), fresh)
  on conflict (owner_id) do update set secret = excluded.secret, rotated_at = now();
  return fresh;
end;
$$;

-- One event for one job (its id is the webhook-id header, the same on every attempt, so a
-- receiver can drop duplicates) and what became of it.
create table public.webhook_deliveries (
  id text primary key,
  job_id uuid not null references public.jobs (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  event text not null check (event in ('job.completed', 'job.failed')),
  url text not null,
  payload jsonb not null,
  -- pending: waiting for its (next) attempt; sending: posted, waiting for the answer;
  -- delivered: a 2xx answer; failed: max_attempts used up.
  status text not null default 'pending'
    check (status in ('pending', 'sending', 'delivered', 'failed')),
  attempts integer not null default 0,
  request_id bigint,
  sent_at timestamptz,
  next_attempt_at timestamptz,
  last_status_code integer,
  last_error text,
  -- One entry per finished attempt: {attempt, sent_at, status_code, error}.
  attempt_log jsonb not null default '[]'::jsonb,
  created_at timestamptz not null default now(),
  delivered_at timestamptz
);
create index webhook_deliveries_job_idx on public.webhook_deliveries (job_id);
create index webhook_deliveries_sending_idx on public.webhook_deliveries (sent_at) where status = 'sending';
create index webhook_deliveries_due_idx on public.webhook_deliveries (next_attempt_at) where status = 'pending';
-- Deleting a user deletes their deliveries; the hourly cap counts a user's recent ones.
create index webhook_deliveries_owner_idx on public.webhook_deliveries (owner_id, created_at);

alter table public.webhook_deliveries enable row level security;
revoke all on public.webhook_deliveries from anon, authenticated;
grant select on public.webhook_deliveries to authenticated;
grant all on public.webhook_deliveries to service_role;

create policy webhook_deliveries_select_own on public.webhook_deliveries
  for select to authenticated
  using (owner_id = (select auth.uid()));

-- The event body: what happened to which job, and where its results are (not the results
-- themselves: a client reads those with its own session).
create function private.webhook_payload(job public.jobs) returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'type', 'job.' || job.status,
    'timestamp', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'data', jsonb_build_object(
      'job_id', job.id,
      'status', job.status,
      'filename', job.filename,
      'error_code', job.error_code,
      'error_message', job.error_message,
      'cached_from', job.cached_from,
      'created_at', job.created_at,
      'completed_at', job.completed_at,
      'outputs', coalesce((
        select jsonb_agg(jsonb_build_object('language', o.language, 'format', o.format)
                         order by o.language, o.format)
        from public.job_outputs o where o.job_id = job.id), '[]'::jsonb)))
$$;

-- Posts one attempt, signed now: webhook-timestamp is the time of this attempt, so receivers
-- that reject old timestamps accept retries too.
create function private.send_webhook(delivery_id text) returns void
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.webhook_settings;
  d public.webhook_deliveries;
  stamp text := extract(epoch from now())::bigint::text;
  secret text;
  signature text;
  request bigint;
begin
  select * into cfg from private.webhook_settings;
  select * into d from public.webhook_deliveries w where w.id = delivery_id for update;
  if not found or d.status not in ('pending') then
    return;
  end if;
  secret := private.webhook_secret_of(d.owner_id);
  -- pg_net sends convert_to(body::text, 'UTF8'): the same bytes as signed here.
  signature := 'v1,' || encode(extensions.hmac(
    convert_to(d.id || '.' || stamp || '.' || d.payload::text, 'UTF8'),
    decode(substr(secret, 7), 'base64'), 'sha256'), 'base64');
  request := net.http_post(
    url := d.url,
    body := d.payload,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'User-Agent', 'AI-Subs-Webhooks/1',
      'webhook-id', d.id,
      'webhook-timestamp', stamp,
      'webhook-signature', signature),
    timeout_milliseconds := cfg.timeout_ms);
  update public.webhook_deliveries w
     set status = 'sending', attempts = w.attempts + 1, request_id = request, sent_at = now(),
         next_attempt_at = null
   where w.id = d.id;
end;
$$;

-- The hook on a job's terminal transitions (and on a cached result inserted completed). Past
-- the owner's max_events_per_hour the event is recorded, not sent.
create function private.enqueue_job_webhook() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  delivery_id text := 'msg_' || replace(gen_random_uuid()::text, '-', '');
  limited boolean;
begin
  -- One owner's events are counted one transaction at a time: parallel inserts would each count
  -- before the others commit.
  perform pg_advisory_xact_lock(hashtextextended('ai-subs webhook events ' || new.owner_id, 0));
  limited := (select count(*) from public.webhook_deliveries w
              where w.owner_id = new.owner_id and w.created_at > now() - interval '1 hour'
                and w.last_error is distinct from 'rate_limited')
             >= (select s.max_events_per_hour from private.webhook_settings s);
  insert into public.webhook_deliveries
    (id, job_id, owner_id, event, url, payload, next_attempt_at, status, last_error)
  values (delivery_id, new.id, new.owner_id, 'job.' || new.status, new.options ->> 'webhook_url',
    private.webhook_payload(new), case when not limited then now() end,
    case when limited then 'failed' else 'pending' end,
    case when limited then 'rate_limited' end);
  if not limited then
    perform private.send_webhook(delivery_id);
  end if;
  return null;
end;
$$;

create trigger jobs_webhook_on_insert after insert on public.jobs
  for each row when (new.status in ('completed', 'failed') and new.options ->> 'webhook_url' is not null)
  execute function private.enqueue_job_webhook();
create trigger jobs_webhook_on_end after update of status on public.jobs
  for each row when (old.status is distinct from new.status and new.status in ('completed', 'failed')
                     and new.options ->> 'webhook_url' is not null)
  execute function private.enqueue_job_webhook();

-- One pass: settles attempts whose answer arrived (or that are overdue), then sends what is
-- due. Rows another transaction holds are skipped. Returns what it did.
create function public.deliver_webhooks() returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.webhook_settings;
  item record;
  ok boolean;
  failure text;
  delivered integer := 0;
  retrying integer := 0;
  given_up integer := 0;
  sent integer := 0;
begin
  select * into cfg from private.webhook_settings;
  for item in
    select w.id, w.attempts, w.sent_at, r.id as response_id, r.status_code, r.timed_out, r.error_msg
    from public.webhook_deliveries w
    left join net._http_response r on r.id = w.request_id
    where w.status = 'sending'
      and (r.id is not null
           or w.sent_at < now() - make_interval(secs => cfg.timeout_ms / 1000.0 + 60))
    for update of w skip locked
  loop
    ok := item.response_id is not null and item.status_code between 200 and 299
          and not coalesce(item.timed_out, false) and item.error_msg is null;
    failure := case
      when ok then null
      when item.response_id is null then 'no answer'
      when item.timed_out then 'timed out'
      when item.error_msg is not null then item.error_msg
      else 'HTTP ' || item.status_code end;
    update public.webhook_deliveries w
       set status = case when ok then 'delivered'
                         when w.attempts >= cfg.max_attempts then 'failed' else 'pending' end,
           delivered_at = case when ok then now() end,
           next_attempt_at = case when not ok and w.attempts < cfg.max_attempts then
             now() + make_interval(secs => least(cfg.backoff_max_seconds,
               cfg.backoff_base_seconds * power(2, w.attempts - 1))) end,
           request_id = null,
           last_status_code = item.status_code,
           last_error = failure,
           attempt_log = w.attempt_log || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
             'attempt', w.attempts, 'sent_at', w.sent_at, 'status_code', item.status_code,
             'error', failure)))
     where w.id = item.id;
    if ok then
      delivered := delivered + 1;
    elsif item.attempts >= cfg.max_attempts then
      given_up := given_up + 1;
    else
      retrying := retrying + 1;
    end if;
  end loop;

  for item in
    select w.id from public.webhook_deliveries w
    where w.status = 'pending' and w.next_attempt_at <= now()
    order by w.next_attempt_at
    for update skip locked
  loop
    perform private.send_webhook(item.id);
    sent := sent + 1;
  end loop;
  return jsonb_build_object('delivered', delivered, 'retrying', retrying, 'failed', given_up,
    'sent', sent);
end;
$$;

revoke execute on function public.deliver_webhooks() from public, anon, authenticated;
grant execute on function public.deliver_webhooks() to service_role;
revoke execute on function public.webhook_secret(), public.rotate_webhook_secret() from public, anon;
grant execute on function public.webhook_secret(), public.rotate_webhook_secret() to authenticated;

do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron')
     and current_database() = coalesce(current_setting('cron.database_name', true), 'postgres') then
    create extension if not exists pg_cron;
    perform cron.schedule('ai-subs-webhooks', '* * * * *', 'select public.deliver_webhooks()');
  end if;
end;
$$;
