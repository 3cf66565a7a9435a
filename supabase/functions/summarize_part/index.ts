import { serveStep } from "../_shared/engine/step_runtime.ts";
import { summarizePartStep } from "./step.ts";

serveStep("summarize_part", summarizePartStep);
