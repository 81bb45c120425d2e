import { readFileSync } from "node:fs";

// Read once at start-up from package.json, one level above both src/ and dist/.
const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export const VERSION: string = packageJson.version;
