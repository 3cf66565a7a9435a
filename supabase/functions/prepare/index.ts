import { serveStep } from "../_shared/engine/step_runtime.ts";
import { prepareStep } from "./step.ts";

serveStep("prepare", prepareStep);
