-- Translation and summary fan out over the parts of the transcript that merge plans (one task
-- per part, per language for translation), and fan in: translate gets its parts, summarize the
-- parts' summaries, render runs after both.
begin;
\ir _helpers.sql
select plan(6);

update private.settings set per_job_parallelism = 8;
select tests.new_user() as alice \gset
select tests.submit(:'alice', '{"translate_to": ["fr", "de"], "summarize": true}') as job \gset
select tests.run((tests.task(:'job', 'prepare')).id);
select tests.run(t.id) from private.tasks t where t.job_id = :'job' and t.step = 'transcribe';
select public.claim_task((tests.task(:'job', 'merge')).id) ->> 'lease' as lease \gset
select is(public.complete_task((tests.task(:'job', 'merge')).id, :'lease', '{
  "transcript": {"text": "merged"},
  "translate_parts": [
    {"index": 0, "language": "fr", "from": 0, "to": 2, "start": 0, "end": 10},
    {"index": 1, "language": "fr", "from": 2, "to": 3, "start": 10, "end": 15},
    {"index": 2, "language": "de", "from": 0, "to": 2, "start": 0, "end": 10},
    {"index": 3, "language": "de", "from": 2, "to": 3, "start": 10, "end": 15}],
  "summary_parts": [
    {"index": 0, "from": 0, "to": 2, "start": 0, "end": 10},
    {"index": 1, "from": 2, "to": 3, "start": 10, "end": 15}]}') ->> 'ok', 'true', 'merge completes with its parts');
select results_eq(format($$select step, key, status from private.tasks where job_id = %L
    and step not in ('prepare', 'transcribe', 'merge') order by step, chunk_index$$, :'job'),
  $$values ('summarize_part'::text, '0'::text, 'dispatched'::text), ('summarize_part', '1', 'dispatched'),
    ('translate_part', '0', 'dispatched'), ('translate_part', '1', 'dispatched'),
    ('translate_part', '2', 'dispatched'), ('translate_part', '3', 'dispatched')$$,
  'one task per part (and language), and the fan-ins wait for them');
select is((public.claim_task((tests.task(:'job', 'translate_part', '3')).id)) -> 'input' -> 'part',
  '{"index": 3, "language": "de", "from": 2, "to": 3, "start": 10, "end": 15}'::jsonb,
  'a part task gets its part');
select tests.run(t.id) from private.tasks t
 where t.job_id = :'job' and t.step in ('translate_part', 'summarize_part') and t.status = 'dispatched';
select public.complete_task(t.id, t.lease, '{"texts": ["t3"]}') from private.tasks t
 where t.job_id = :'job' and t.step = 'translate_part' and t.key = '3';
select is(private.task_input(tests.task(:'job', 'translate', 'fr')) -> 'translate_part' -> 3,
  '{"part": {"index": 3, "language": "de", "from": 2, "to": 3, "start": 10, "end": 15}, "texts": ["t3"]}'::jsonb,
  'translate gets every part with its texts, in order');
select is(private.task_input(tests.task(:'job', 'summarize')) -> 'summarize_part' -> 1,
  '{"part": {"index": 1, "from": 2, "to": 3, "start": 10, "end": 15}, "summary": "part 1", "chapters": [], "keyPoints": []}'::jsonb,
  'summarize gets every part''s summary, in order');
select is(tests.drive(:'job'), 'completed', 'the job completes after both fan-ins and render');

select finish();
rollback;
