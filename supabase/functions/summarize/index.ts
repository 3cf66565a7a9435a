import { serveStep } from "../_shared/engine/step_runtime.ts";
import { summarizeStep } from "./step.ts";

serveStep("summarize", summarizeStep);
