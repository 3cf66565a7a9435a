import { serveStep } from "../_shared/step_runtime.ts";
import { mergeStep } from "../_shared/steps/merge.ts";

serveStep("merge", mergeStep);
