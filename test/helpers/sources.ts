import { readdirSync } from "node:fs";
import path from "node:path";

/** Every TypeScript file below `dir`, without the generated Prisma clients. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? e.name === "generated"
        ? []
        : sourceFiles(path.join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [path.join(dir, e.name)]
        : [],
  );
}
