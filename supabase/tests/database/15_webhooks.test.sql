-- Completion webhooks (085_webhooks.sql): which URLs a job may name, the event each terminal
-- transition queues and signs, retries of failed attempts up to max_attempts, who sees the
-- deliveries and the secret. pg_net's answers are written into net._http_response by hand,
-- so nothing leaves the transaction.
begin;
\ir _helpers.sql
select plan(46);

select tests.new_user() as alice \gset
select tests.new_user() as bob \gset

-- Hosted rules (the default): https to a public host only.
select is(private.webhook_url_problem('https://hooks.example.com/ai-subs?x=1', false), null,
  'a public https URL is accepted');
select is(private.webhook_url_problem('https://[2606:4700::1111]:8443/h', false), null,
  'a public IPv6 literal is accepted');
select is(private.webhook_url_problem('http://hooks.example.com/h', false), 'must use https',
  'plain http is refused');
select is(private.webhook_url_problem(u, false), 'must point to a public address',
  'private or loopback literal refused: ' || u)
from unnest(array['https://127.0.0.1/h', 'https://10.0.0.8/h', 'https://169.254.169.254/latest',
  'https://[::1]/h', 'https://[fd00::1]/h', 'https://[::ffff:127.0.0.1]/h']) u;
select isnt(private.webhook_url_problem(u, false), null, 'refused: ' || u)
from unnest(array['https://localhost/h', 'https://db.internal/h', 'https://2130706433/h',
  'https://0x7f.1/h', 'https://0177.0.0.1/h', 'https://user:pw@hooks.example.com/h',
  'ftp://hooks.example.com/h', 'https://printer/h']) u;
-- Hosts a WHATWG URL parser decodes into loopback or link-local addresses (issue 26).
select isnt(private.webhook_url_problem(u, false), null, 'refused: ' || u)
from unnest(array['https://%31%32%37.0.0.%31:18443/', 'https://127.0.0.1%2e/',
  'https://１２７.０.０.１/', 'https://169.254.169.254%2e/', 'https://169.254.169.254./',
  'https://a.l%6fcalhost/']) u;
select is(private.webhook_url_problem('http://127.0.0.1:9/hook', true), null,
  'allow_private_urls accepts loopback over http (the local stack''s tests)');

select tests.as_user(:'alice');
select is(tests.submit_error('talk.mp4', tests.media(:'alice'),
  '{"webhook_url": "http://127.0.0.1:9/hook"}') ->> 'hint', 'invalid_webhook_url',
  'a loopback webhook is refused at submission on hosted settings');
select is(tests.submit_error('talk.mp4', tests.media(:'alice'),
  '{"webhook_url": 42}') ->> 'detail', 'options.webhook_url', 'the error names the field');
select tests.as_admin();

update private.webhook_settings set allow_private_urls = true, backoff_base_seconds = 0, max_attempts = 2;

-- A job that completes: one event, signed with the owner's secret over the exact body sent.
select tests.submit(:'alice', '{"webhook_url": "http://127.0.0.1:9/hook"}') as job \gset
select is(tests.drive(:'job'), 'completed', 'the job completes');
select is((select count(*)::int from public.webhook_deliveries where job_id = :'job'), 1,
  'one delivery for the completion');
select is((select status || '/' || attempts from public.webhook_deliveries where job_id = :'job'),
  'sending/1', 'the first attempt is posted at once');
select is(
  (select q.headers ->> 'webhook-signature' from net.http_request_queue q
     join public.webhook_deliveries d on d.request_id = q.id where d.job_id = :'job'),
  (select 'v1,' || encode(extensions.hmac(
      convert_to(d.id || '.' || (q.headers ->> 'webhook-timestamp') || '.', 'UTF8') || q.body,
      decode(substr(s.secret, 7), 'base64'), 'sha256'), 'base64')
   from net.http_request_queue q join public.webhook_deliveries d on d.request_id = q.id
   join private.webhook_secrets s on s.owner_id = d.owner_id where d.job_id = :'job'),
  'webhook-signature is the Standard Webhooks HMAC of id.timestamp.body');
select is(
  (select convert_from(q.body, 'UTF8')::jsonb #>> '{data,status}' || ' ' ||
          (convert_from(q.body, 'UTF8')::jsonb ->> 'type')
   from net.http_request_queue q join public.webhook_deliveries d on d.request_id = q.id
   where d.job_id = :'job'),
  'completed job.completed', 'the body says what happened');

-- The receiver answers 500: retried (backoff 0 here), then 204: delivered, not sent again.
insert into net._http_response (id, status_code)
select request_id, 500 from public.webhook_deliveries where job_id = :'job';
select public.deliver_webhooks();
select is((select status || '/' || attempts || '/' || (attempt_log -> 0 ->> 'status_code')
           from public.webhook_deliveries where job_id = :'job'),
  'sending/2/500', 'a 500 is recorded and the event sent again');
insert into net._http_response (id, status_code)
select request_id, 204 from public.webhook_deliveries where job_id = :'job';
select public.deliver_webhooks();
select is((select status || '/' || attempts || '/' || jsonb_array_length(attempt_log)
           from public.webhook_deliveries where job_id = :'job'),
  'delivered/2/2', 'a 2xx delivers it');
select is((public.deliver_webhooks() ->> 'sent')::int, 0, 'a delivered event is not sent again');

-- A job that fails: its event, which the receiver keeps refusing until attempts run out.
select tests.submit(:'alice', '{"webhook_url": "http://127.0.0.1:9/hook"}') as failing \gset
select private.fail_job(:'failing', 'unreadable_media');
select is((select event || ' ' || (payload #>> '{data,error_code}')
           from public.webhook_deliveries where job_id = :'failing'),
  'job.failed unreadable_media', 'a failed job sends job.failed with its stable code');
insert into net._http_response (id, status_code, timed_out)
select request_id, null, true from public.webhook_deliveries where job_id = :'failing';
select public.deliver_webhooks();
insert into net._http_response (id, status_code)
select request_id, 503 from public.webhook_deliveries where job_id = :'failing';
select public.deliver_webhooks();
select is((select status || '/' || attempts || '/' || last_error
           from public.webhook_deliveries where job_id = :'failing'),
  'failed/2/HTTP 503', 'after max_attempts the delivery fails, with what went wrong');
select is((select attempt_log -> 0 ->> 'error' from public.webhook_deliveries where job_id = :'failing'),
  'timed out', 'a timeout counts as a failed attempt');

-- The same recording and options with another webhook URL: the cached result, and its event.
select tests.submit(:'alice', '{"webhook_url": "http://127.0.0.1:9/other"}',
  (select media ->> 'sha256' from public.jobs where id = :'job')) as cached \gset
select is((select cached_from::text from public.jobs where id = :'cached'), :'job',
  'the webhook URL does not stop deduplication');
select is((select event || ' ' || url from public.webhook_deliveries where job_id = :'cached'),
  'job.completed http://127.0.0.1:9/other', 'a cached result sends its event to its own URL');

-- Who sees what.
select tests.as_user(:'alice');
select is((select count(*)::int from public.webhook_deliveries), 3, 'the owner sees her deliveries');
select public.webhook_secret() as secret \gset
select ok(:'secret' ~ '^whsec_[A-Za-z0-9+/]{43}=$', 'the secret is whsec_ + 32 random bytes');
select isnt(public.rotate_webhook_secret(), :'secret', 'rotating gives a new secret');
select tests.as_user(:'bob');
select is((select count(*)::int from public.webhook_deliveries), 0, 'another user sees none');
select isnt(public.webhook_secret(), :'secret', 'each user has a secret of their own');
select tests.as_anon();
select is(tests.error_of('select public.webhook_secret()') ->> 'sqlstate', '42501',
  'anon cannot read a secret');
select tests.as_user(:'alice');
select is(tests.error_of('select public.deliver_webhooks()') ->> 'sqlstate', '42501',
  'users cannot run the delivery pass');
select tests.as_admin();

select * from finish();
rollback;
