-- The pipeline's shape as data: the steps, in order, and what each one needs and gives.
-- Planning (041), dispatch (042) and the failure path (043) read it; the step hooks (044) are
-- what completing prepare and render does.

-- Which steps run, in what order, how many times, what they wait for, what they must return
-- and what completing them does. The one place that knows the pipeline: adding a step is one
-- row here, one StepIO entry (supabase/functions/_shared/engine/contract.ts) and one function folder.
--   map_over: null (one task per job) or '<source>.<key>', one task per element of that array,
--     the source being 'options' (the job's options) or an earlier step (its output); the task's
--     params are {<map_as>: element}, its key the element's "index" (or the element itself);
--   when_option: an option that must be true (or a non-empty list) for the step to run;
--   after: steps that must be done (completed, or skipped for this job) first; their outputs
--     are the step's input (see task_input);
--   weight: share of the job's progress; label: the stage message (%1 index, %2 total, %3 key);
--   checklist_label / checklist_unit: the line of the stage checklist (job_steps);
--   output_keys: what the output must contain (output_problem);
--   on_complete: a private function (task private.tasks, output jsonb) returns text run when a
--     task completes: null after doing its work, or why the output cannot be used, unchanged.
create table private.steps (
  step text primary key,
  position integer not null unique,
  map_over text check (map_over ~ '^[a-z_]+\.[a-z_]+$'),
  map_as text,
  when_option text,
  after text[] not null default '{}',
  weight integer not null check (weight >= 0),
  label text not null,
  checklist_label text not null,
  checklist_unit text,
  output_keys text[] not null default '{}',
  on_complete text,
  check ((map_over is null) = (map_as is null))
);

-- Translation and summary of a long transcript fan out over parts of it that merge plans (so
-- each task finishes well inside a function's wall clock), then fan in: translate stitches one
-- language from its parts, summarize reduces the parts' summaries to one.
insert into private.steps (step, position, map_over, map_as, when_option, after, weight, label,
  checklist_label, checklist_unit, output_keys, on_complete) values
  ('prepare', 1, null, null, null, '{}', 5, 'Preparing the recording',
   'Prepare', null, '{chunks}', 'plan_chunks'),
  ('transcribe', 2, 'prepare.chunks', 'chunk', null, '{prepare}', 70, 'Transcribing chunk %1 of %2',
   'Transcribe', 'chunks', '{transcript}', null),
  ('merge', 3, null, null, null, '{transcribe}', 5, 'Merging the transcript',
   'Merge', null, '{transcript}', null),
  ('translate_part', 4, 'merge.translate_parts', 'part', 'translate_to', '{merge}', 8,
   'Translating part %1 of %2', 'Translation', 'parts', '{texts}', null),
  ('translate', 5, 'options.translate_to', 'language', null, '{merge,translate_part}', 2,
   'Translating to %3', 'Translate', null, '{transcript}', null),
  ('summarize_part', 6, 'merge.summary_parts', 'part', 'summarize', '{merge}', 4,
   'Summarizing part %1 of %2', 'Summary', 'parts', '{summary}', null),
  ('summarize', 7, null, null, 'summarize', '{merge,summarize_part}', 1, 'Summarizing',
   'Summarize', null, '{}', null),
  ('render', 8, null, null, null, '{merge,translate,summarize}', 5, 'Rendering subtitles',
   'Render subtitles', null, '{outputs}', 'store_outputs')
on conflict (step) do update set position = excluded.position, map_over = excluded.map_over,
  map_as = excluded.map_as, when_option = excluded.when_option, after = excluded.after,
  weight = excluded.weight, label = excluded.label, checklist_label = excluded.checklist_label,
  checklist_unit = excluded.checklist_unit, output_keys = excluded.output_keys,
  on_complete = excluded.on_complete;
