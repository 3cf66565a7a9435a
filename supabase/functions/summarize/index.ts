import { serveStep } from "../_shared/step_runtime.ts";
import { summarizeStep } from "../_shared/steps/summarize.ts";

serveStep("summarize", summarizeStep);
