-- Fair use and storage hygiene (issue 13): dispatch goes round robin across users, one user's
-- uploads that no job uses are capped, and such uploads are listed for cleanup after the grace.
begin;
\ir _helpers.sql
select plan(11);

-- Fairness: alice keeps the only two slots busy and has chunks waiting; bob's first task
-- takes the next free slot, ahead of alice's older work.
update private.settings set global_parallelism = 2, step_parallelism = '{}';
select tests.new_user() as alice \gset
select tests.new_user() as bob \gset
select tests.submit(:'alice') as a1 \gset
select tests.submit(:'alice') as a2 \gset
-- Alice's work is older (one transaction has one now()).
update public.jobs set created_at = now() - interval '1 minute' where owner_id = :'alice';
select tests.run((tests.task(:'a1', 'prepare')).id);
select is((select count(*)::int from private.tasks where job_id = :'a1' and step = 'transcribe' and status = 'pending'), 2,
  'alice has chunks waiting for a slot');
select tests.submit(:'bob') as b1 \gset
select is((tests.task(:'b1', 'prepare')).status, 'pending', 'bob waits while every slot is busy');
select tests.run((tests.task(:'a2', 'prepare')).id);
select is((tests.task(:'b1', 'prepare')).status, 'dispatched',
  'the freed slot goes to bob, who has nothing in flight, not to alice''s older chunks');
select is((select count(*)::int from private.tasks t join public.jobs j on j.id = t.job_id
           where j.owner_id = :'alice' and t.status in ('dispatched', 'running')), 1,
  'alice keeps one slot');

-- Pending uploads: bytes in objects no job uses are capped per user.
update private.settings set pending_upload_bytes = 1000;
select tests.as_user(:'bob');
insert into storage.objects (bucket_id, name, owner_id, metadata)
values ('media', :'bob' || '/u1/a.wav', :'bob', '{"size": 600}');
select is(tests.error_of(format($$insert into storage.objects (bucket_id, name, owner_id, metadata)
  values ('media', %L, %L, '{"size": 600}')$$, :'bob' || '/u2/b.wav', :'bob')) ->> 'hint',
  'upload_quota_exceeded', 'an upload past the cap of unreferenced bytes is refused with its own code');
select is(tests.error_of(format($$insert into storage.objects (bucket_id, name, owner_id, metadata)
  values ('media', %L, %L, '{"size": 600}')$$, :'bob' || '/upload-1/manifest.json', :'bob')),
  null, 'the media of a live job does not count as pending');
-- Issue 26: a folder a job names is no free pass; the job's own input is.
select is(tests.error_of(format($$insert into storage.objects (bucket_id, name, owner_id, metadata)
  values ('media', %L, %L, '{"size": 600}')$$, :'bob' || '/upload-1/deep/c.wav', :'bob')) ->> 'hint',
  'upload_quota_exceeded', 'another object in that job''s folder counts');
select tests.as_admin();
select is(tests.error_of(format($$insert into storage.objects (bucket_id, name, owner_id, metadata)
  values ('media', %L, %L, '{"size": 600}')$$, :'bob' || '/u4/signed.wav', :'bob')) ->> 'hint',
  'upload_quota_exceeded', 'a write past RLS (a signed upload: Storage writes it as a superuser) counts too');
select tests.as_user(:'alice');
select is(tests.error_of(format($$insert into storage.objects (bucket_id, name, owner_id, metadata)
  values ('media', %L, %L, '{"size": 600}')$$, :'alice' || '/u1/a.wav', :'alice')), null,
  'another user has their own allowance');

-- Orphans: unreferenced uploads older than the grace are listed; used or fresh ones are not.
select tests.as_admin();
update storage.objects set created_at = now() - interval '25 hours', updated_at = now() - interval '25 hours'
 where name in (:'bob' || '/u1/a.wav', :'bob' || '/upload-1/manifest.json');
select tests.as_service();
select ok(public.orphan_uploads() @> to_jsonb(array[:'bob' || '/u1/a.wav']),
  'an old upload no job uses is listed for cleanup');
select ok(not (public.orphan_uploads() @> to_jsonb(array[:'bob' || '/upload-1/manifest.json']))
  and not (public.orphan_uploads() @> to_jsonb(array[:'alice' || '/u1/a.wav'])),
  'one a job uses, or a fresh one, is not');

select finish();
rollback;
