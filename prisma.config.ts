import { defineConfig } from "prisma/config";

// The Prisma CLI insists on a native schema-engine binary that it would download, which fails
// offline. `prisma generate` never runs that binary, so any executable satisfies the check.
// Migrations are applied at runtime through @prisma/schema-engine-wasm instead (src/store/migrate.ts).
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= "/bin/false";

export default defineConfig({
  schema: "prisma/schema.prisma",
});
