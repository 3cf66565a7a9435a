-- Issue 26, findings 1 and 2: a webhook URL's host must be written as every client reads it
-- (no percent-encoding, full-width or other non-ASCII forms a WHATWG parser decodes into a
-- private address), and one user's webhook events are capped per hour, whatever made them.

alter table private.webhook_settings
  add column max_events_per_hour integer not null default 20 check (max_events_per_hour >= 0);

-- Replaces the owner_id index of 20261208010656: the same index serves deleting a user and the cap.
drop index if exists public.webhook_deliveries_owner_idx;
create index webhook_deliveries_owner_idx on public.webhook_deliveries (owner_id, created_at);

create or replace function private.webhook_url_problem(url text, allow_private boolean) returns text
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

create or replace function private.enqueue_job_webhook() returns trigger
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
