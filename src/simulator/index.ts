// Public entry of the TalkJS API simulator.
export { parseSimulatorArgs, runSimulatorCli, SIMULATOR_USAGE } from "./cli.ts";
export { startSimulator } from "./server.ts";
export type * from "./types.ts";
