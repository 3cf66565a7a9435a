import { serveStep } from "../_shared/engine/step_runtime.ts";
import { transcribeStep } from "./step.ts";

serveStep("transcribe", transcribeStep);
