-- Submission (rules 1, 3, 4): insert under RLS and column grants, validation naming the field,
-- own storage folder, forged columns, the active-job limit, dedup, first task dispatched.
begin;
\ir _helpers.sql
select plan(31);

select tests.new_user() as alice \gset
select tests.new_user() as bob \gset

-- A plain insert by the owner.
select tests.as_user(:'alice');
insert into public.jobs (filename, media, options)
values ('talk.mp4', tests.media(:'alice', repeat('a', 64)), '{"translate_to": ["fr"]}') returning id as job \gset
select tests.as_admin();
select results_eq($$select owner_id, status, progress, expires_at - created_at from public.jobs where id = '$$ || :'job' || $$'$$,
  $$values ('$$ || :'alice' || $$'::uuid, 'pending'::text, 0::smallint, interval '7 days')$$,
  'an authenticated insert creates a pending job owned by the caller, expiring after retention');
select is((select options from public.jobs where id = :'job'),
  '{"language": "auto", "force_language": false, "num_speakers": null, "min_speakers": null,
    "max_speakers": null, "translate_to": ["fr"], "summarize": false,
    "caption_style": {"preset": "default", "max_line_chars": 42, "max_lines": 2,
      "max_chars_per_second": 20, "min_duration": 0.833, "max_duration": 7}}'::jsonb,
  'options are stored normalised with every default');

-- AFTER INSERT: the first task is created and dispatched with pg_net.
select results_eq($$select step, status, attempts, request_id is not null from private.tasks where job_id = '$$ || :'job' || $$'$$,
  $$values ('prepare'::text, 'dispatched'::text, 1, true)$$, 'the first task (prepare) is created and dispatched');
select results_eq(
  $$select q.url, convert_from(q.body, 'UTF8')::jsonb, q.headers ->> 'apikey', q.headers ? 'Authorization'
    from net.http_request_queue q join private.tasks t on t.request_id = q.id where t.job_id = '$$ || :'job' || $$'$$,
  $$select private.secret('functions_url') || '/prepare',
           jsonb_build_object('task_id', t.id, 'job_id', t.job_id),
           private.secret('secret_key'), false
    from private.tasks t where t.job_id = '$$ || :'job' || $$'$$,
  'the dispatch posts ids only to <functions_url>/prepare with the secret key as apikey, no Authorization');

-- RLS: owner sees it; another user and anon do not.
select tests.as_user(:'alice');
select is((select count(*) from public.jobs where id = :'job')::int, 1, 'the owner sees the job');
select tests.as_user(:'bob');
select is((select count(*) from public.jobs where id = :'job')::int, 0, 'another user cannot see the job');
select is(tests.submit_error('x.mp4', tests.media(:'alice')) ->> 'hint',
  'media_outside_folder', 'a media path in another user''s folder is refused');
select tests.as_anon();
select is((tests.error_of('select count(*) from public.jobs')) ->> 'sqlstate', '42501', 'anon cannot read jobs');
select is((tests.error_of($$insert into public.jobs (filename, media) values ('x.mp4', '{}')$$)) ->> 'sqlstate', '42501',
  'anon cannot submit');

-- Forged columns are rejected by the column grants.
select tests.as_user(:'bob');
select is((tests.error_of(format($$insert into public.jobs (owner_id, filename, media) values (%L, 'x.mp4', tests.media(%L))$$, :'alice', :'alice'))) ->> 'sqlstate',
  '42501', 'forged owner_id is rejected');
select is((tests.error_of(format($$insert into public.jobs (status, filename, media) values ('completed', 'x.mp4', tests.media(%L))$$, :'bob'))) ->> 'sqlstate',
  '42501', 'forged status is rejected');
select is((tests.error_of(format($$insert into public.jobs (progress, filename, media) values (100, 'x.mp4', tests.media(%L))$$, :'bob'))) ->> 'sqlstate',
  '42501', 'forged progress is rejected');
select is((tests.error_of(format($$insert into public.jobs (cached_from, filename, media) values (%L, 'x.mp4', tests.media(%L))$$, :'job', :'bob'))) ->> 'sqlstate',
  '42501', 'forged cached_from is rejected');
select is((tests.error_of(format($$insert into public.job_outputs (job_id, language, format, content) values (%L, 'en', 'srt', 'x')$$, :'job'))) ->> 'sqlstate',
  '42501', 'forged outputs are rejected');
select is((tests.error_of(format($$update public.jobs set status = 'completed' where id = %L$$, :'job'))) ->> 'sqlstate',
  '42501', 'clients cannot update jobs directly');

-- Validation: each field named, distinct SQLSTATE and stable code; nothing written.
select results_eq(
  format($$select e ->> 'sqlstate', e ->> 'hint', e ->> 'detail' from (values
    (1, tests.submit_error(null, tests.media(%1$L))),
    (2, tests.submit_error('x', jsonb_build_object('path', %1$L || '/u/a.json', 'bytes', 1))),
    (3, tests.submit_error('x', tests.media(%1$L) || '{"sha256": "nothex"}')),
    (4, tests.submit_error('x', tests.media(%1$L) || '{"duration": 99999}')),
    (5, tests.submit_error('x', tests.media(%1$L), '{"language": "Klingon!"}')),
    (6, tests.submit_error('x', tests.media(%1$L), '{"min_speakers": 4, "max_speakers": 2}')),
    (7, tests.submit_error('x', tests.media(%1$L), '{"translate_to": ["fr", "fr"]}')),
    (8, tests.submit_error('x', tests.media(%1$L), '{"colour": "red"}')),
    (9, tests.submit_error('x', tests.media(%1$L), '{"caption_style": {"max_lines": 9}}')),
    (10, tests.submit_error('x', tests.media(%1$L), '{"summarize": "yes"}')),
    (11, tests.submit_error('x', tests.media(%1$L), '{"force_language": true}'))
  ) v(n, e) order by n$$, :'bob'),
  $$values ('PT400', 'invalid_filename', 'filename'), ('PT400', 'invalid_media', 'media.sha256'),
    ('PT400', 'invalid_media', 'media.sha256'), ('PT400', 'media_too_long', 'media.duration'),
    ('PT400', 'unsupported_language', 'options.language'), ('PT400', 'invalid_options', 'options.min_speakers'),
    ('PT400', 'invalid_options', 'options.translate_to'), ('PT400', 'invalid_options', 'options.colour'),
    ('PT400', 'invalid_options', 'options.caption_style.max_lines'), ('PT400', 'invalid_options', 'options.summarize'),
    ('PT400', 'invalid_options', 'options.force_language')$$,
  'every invalid field is refused with SQLSTATE PT400, its code in HINT and the field in DETAIL');
select alike(tests.submit_error('x', tests.media(:'bob'), '{"language": "xx_!"}') ->> 'message',
  'options.language: %', 'the message starts with the field it is about');
select is(tests.submit_error('x', jsonb_set(tests.media(:'bob'), '{path}', to_jsonb(:'bob' || '/../' || :'alice' || '/x/a.json'))) ->> 'hint',
  'media_outside_folder', 'a path climbing out of the own folder is refused');
select tests.as_admin();
select is((select count(*) from public.jobs where owner_id = :'bob')::int, 0, 'a refused submission writes nothing');

-- The active-job limits: a user at their own limit gets user_queue_full, a full system
-- queue_full, each with a message shown as is.
select tests.submit(:'bob') as b1 \gset
select tests.submit(:'bob') as b2 \gset
select tests.as_user(:'bob');
select is(public.queue_status(), '{"active": 3, "limit": 3, "mine": 2, "user_limit": 2, "accepting": false, "message": "You already have 2 jobs processing. Wait for one to finish, then try again."}'::jsonb,
  'queue_status reports the caller at their own limit');
select is(tests.submit_error('x', tests.media(:'bob')),
  jsonb_build_object('sqlstate', 'PT429', 'message', 'You already have 2 jobs processing. Wait for one to finish, then try again.', 'hint', 'user_queue_full', 'detail', ''),
  'a third active job of one user is refused: PT429, code user_queue_full, message for the UI');
select tests.as_admin();
select tests.new_user() as carol \gset
select tests.as_user(:'carol');
select is(public.queue_status() ->> 'message', '3 jobs are processing; try again in a few minutes.',
  'queue_status reports a full system to another user');
select is(tests.submit_error('x', tests.media(:'carol')),
  jsonb_build_object('sqlstate', 'PT429', 'message', '3 jobs are processing; try again in a few minutes.', 'hint', 'queue_full', 'detail', ''),
  'a fourth active job is refused: PT429 (HTTP 429), code queue_full, message for the UI');
select tests.as_admin();
select tests.drive(:'b1');
select tests.as_user(:'bob');
select is((public.queue_status() ->> 'accepting')::boolean, true, 'a finished job frees its slot');
select tests.as_admin();

-- Dedup, within one owner only: the same owner's sha256 and options completed within
-- retention: completed at once, cached. Another user naming the same sha256 gets nothing of it.
select tests.drive(:'job');
select tests.as_user(:'bob');
insert into public.jobs (filename, media, options)
values ('copy.mp4', jsonb_set(tests.media(:'bob'), '{sha256}', to_jsonb(repeat('a', 64))), '{"translate_to": ["fr"], "language": "auto"}')
returning id as stranger \gset
select results_eq(format($$select status, cached_from from public.jobs where id = %L$$, :'stranger'),
  $$values ('pending'::text, null::uuid)$$,
  'another user''s job with the same sha256 and options is not deduplicated: it runs');
select is((select count(*) from public.job_outputs where job_id = :'job')::int, 0,
  'the original job''s outputs stay invisible to the other user');
select tests.as_user(:'alice');
insert into public.jobs (filename, media, options)
values ('copy.mp4', jsonb_set(tests.media(:'alice'), '{sha256}', to_jsonb(repeat('a', 64))), '{"translate_to": ["fr"], "language": "auto"}')
returning id as cached \gset
select results_eq(format($$select status, progress, cached_from, cached_at is not null from public.jobs where id = %L$$, :'cached'),
  format($$values ('completed'::text, 100::smallint, %L::uuid, true)$$, :'job'),
  'the owner''s duplicate (same sha256, same options) is completed at once with cached_from and cached_at');
select is((select count(*) from public.job_outputs where job_id = :'cached')::int, 2,
  'the cached job''s outputs are readable by its owner');
insert into public.jobs (filename, media, options)
values ('copy.mp4', jsonb_set(tests.media(:'alice'), '{sha256}', to_jsonb(repeat('a', 64))), '{"translate_to": ["de"]}')
returning id as other_options \gset
select is((select status from public.jobs where id = :'other_options'), 'pending', 'different options are not deduplicated');
select tests.as_admin();
update public.jobs set completed_at = now() - interval '8 days' where id = :'job';
update public.jobs set cached_at = now() - interval '8 days' where id = :'cached';
update public.jobs set status = 'cancelled' where id = :'other_options';
select tests.as_user(:'alice');
insert into public.jobs (filename, media, options)
values ('copy.mp4', jsonb_set(tests.media(:'alice'), '{sha256}', to_jsonb(repeat('a', 64))), '{"translate_to": ["fr"]}')
returning id as too_old \gset
select is((select cached_from from public.jobs where id = :'too_old'), null, 'a result older than retention is not reused');
select tests.as_admin();
select is((select kind from private.events where job_id = :'cached' order by id limit 1), 'job.cached',
  'the cached submission is recorded as an event');

select finish();
rollback;
