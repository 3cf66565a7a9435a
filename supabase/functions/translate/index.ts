import { serveStep } from "../_shared/engine/step_runtime.ts";
import { translateStep } from "./step.ts";

serveStep("translate", translateStep);
