import { serveStep } from "../_shared/step_runtime.ts";
import { summarizePartStep } from "../_shared/steps/summarize_part.ts";

serveStep("summarize_part", summarizePartStep);
