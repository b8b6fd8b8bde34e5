// The dashboard's build: a static site in dashboard/dist that `keel dashboard` serves (with
// `/rpc` proxied and `/config.json`), or any static host (`?rpc=<url>`).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  server: { fs: { allow: [".."] } },
  define: { "process.env.NODE_DEBUG": "false" },
});
