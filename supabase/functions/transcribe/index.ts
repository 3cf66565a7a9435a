import { serveStep } from "../_shared/step_runtime.ts";
import { transcribeStep } from "../_shared/steps/transcribe.ts";

serveStep("transcribe", transcribeStep);
