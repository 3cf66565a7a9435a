-- Structure, privileges, settings and the pipeline data: rules 1, 2, 5 (names), 7 (schedules).
begin;
\ir _helpers.sql
select plan(43);

select has_table('public', 'jobs', 'jobs is a public table');
select has_table('public', 'job_outputs', 'job_outputs is a public table');
select has_table('private', 'tasks', 'tasks are private');
select has_table('private', 'events', 'events are private');
select has_table('private', 'viewers', 'viewers are private');
select has_table('private', 'job_shares', 'share tokens are private');
select has_table('private', 'settings', 'settings are private');
select has_table('private', 'error_codes', 'error codes live in one private table');
select columns_are('public', 'jobs', array['id', 'owner_id', 'filename', 'media', 'options', 'status',
  'stage', 'stage_message', 'progress', 'attempts', 'error_code', 'error_message', 'cached_from',
  'cached_at', 'created_at', 'started_at', 'completed_at', 'updated_at', 'expires_at', 'deleted_at'],
  'jobs has the columns of the issue');
select col_default_is('public', 'jobs', 'owner_id', 'auth.uid()', 'owner defaults to auth.uid()');
select results_eq($$select row_security_active('public.jobs'::regclass) or relrowsecurity
  from pg_class where oid = 'public.jobs'::regclass$$, array[true], 'RLS is enabled on jobs');
select results_eq($$select relrowsecurity from pg_class where oid = 'public.job_outputs'::regclass$$,
  array[true], 'RLS is enabled on job_outputs');

select results_eq(
  $$select active_job_limit, heartbeat_seconds, stale_after_seconds, max_attempts, retention
    from private.settings$$,
  $$values (3, 5, 90, 3, interval '7 days')$$,
  'settings: 3 active jobs, heartbeat 5 s, stale after 90 s, 3 attempts, 7 days retention');
select set_eq($$select code from private.error_codes$$,
  array['queue_full', 'user_queue_full', 'invalid_manifest', 'upload_quota_exceeded', 'invalid_options', 'invalid_filename', 'invalid_media', 'media_outside_folder',
    'unreadable_media', 'media_too_long', 'media_too_large', 'unsupported_language', 'needs_provider', 'provider_refused',
    'provider_auth', 'rate_limited', 'provider_timeout', 'provider_unavailable', 'network_error',
    'malformed_output', 'no_speech', 'stale_heartbeat', 'dispatch_failed', 'service_unreachable', 'attempts_exhausted',
    'cancelled', 'not_found', 'share_not_found', 'invalid_state', 'not_signed_in', 'internal',
    'invalid_transcript', 'invalid_webhook_url', 'no_audio', 'empty_audio', 'unsupported_codec'],
  'every seeded error code has a friendly message');
select is(private.error_message('no_such_code'), private.error_message('internal'),
  'an unknown error code falls back to the generic message');
select ok((select bool_and(private.secret(name) is not null) from (values ('functions_url'), ('secret_key')) v(name)),
  'the functions URL and the secret key are read from Vault');

select results_eq($$select step from private.steps order by position$$,
  array['prepare', 'transcribe', 'merge', 'translate_part', 'translate', 'summarize_part', 'summarize', 'render'],
  'the pipeline order is data: prepare, transcribe, merge, translation and summary parts and their fan-ins, render');
select results_eq($$select map_over from private.steps where step in ('transcribe', 'translate') order by position$$,
  array['prepare.chunks', 'options.translate_to'], 'transcribe fans out per chunk, translate per language');

-- Service entry points: service_role only.
select ok(not has_function_privilege('authenticated', 'public.' || f, 'execute')
          and not has_function_privilege('anon', 'public.' || f, 'execute')
          and has_function_privilege('service_role', 'public.' || f, 'execute'),
  f || ' is executable by service_role only')
from unnest(array['claim_task(uuid)', 'heartbeat_task(uuid,uuid,real,text)',
  'complete_task(uuid,uuid,jsonb)', 'fail_task(uuid,uuid,text,text,boolean,jsonb,integer)',
  'release_task(uuid,uuid,text,integer)',
  'tick()', 'expire_jobs()', 'prune_events()', 'purge_jobs(uuid[])', 'cleanup_targets(uuid[])']) f;

-- User RPCs: authenticated only.
select ok(has_function_privilege('authenticated', 'public.' || f, 'execute')
          and not has_function_privilege('anon', 'public.' || f, 'execute'),
  f || ' is executable by authenticated, not anon')
from unnest(array['cancel_job(uuid)', 'retry_job(uuid)', 'delete_job(uuid)', 'share_job(uuid)',
  'revoke_share(uuid)', 'shared_job(uuid)', 'open_shared_job(text)', 'queue_status()', 'estimate_job(uuid)', 'my_stats()', 'job_steps(uuid)']) f;

select ok(not exists (select 1 from pg_proc p where p.pronamespace = 'private'::regnamespace
  and has_function_privilege('anon', p.oid, 'execute')), 'anon can execute nothing in private');

select results_eq(
  $$select schedule, command from cron.job where jobname like 'ai-subs-%' order by jobname$$,
  $$values ('0 * * * *'::text, 'select public.expire_jobs()'::text),
           ('45 * * * *', 'select private.request_orphan_cleanup()'),
           ('30 * * * *', 'select public.prune_events()'), ('* * * * *', 'select public.tick()'),
           ('* * * * *', 'select public.deliver_webhooks()')$$,
  'pg_cron: tick and webhook deliveries every minute, expiry, orphan uploads and event pruning hourly, in minute syntax');
select results_eq($$select public, allowed_mime_types from storage.buckets where id = 'media'$$,
  $$values (false, array['audio/*', 'video/*', 'application/json'])$$,
  'the media bucket is private and takes audio, video and JSON manifests');

create extension if not exists plpgsql_check;
select is_empty($$
  select p.oid::regprocedure::text || ': ' || r.message
  from pg_proc p
  cross join lateral plpgsql_check_function_tb(p.oid,
    coalesce((select tgrelid from pg_trigger t where t.tgfoid = p.oid limit 1), 0)) r
  where p.pronamespace in ('private'::regnamespace, 'public'::regnamespace)
    and p.prolang = (select oid from pg_language where lanname = 'plpgsql')$$,
  'plpgsql_check finds nothing in the engine''s functions');

select finish();
rollback;
