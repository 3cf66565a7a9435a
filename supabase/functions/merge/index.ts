import { serveStep } from "../_shared/engine/step_runtime.ts";
import { mergeStep } from "./step.ts";

serveStep("merge", mergeStep);
