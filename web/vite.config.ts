import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The bundle is served by `decnet serve` at `/` (decnet/api/web.py): no CDN, no external fonts.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev` against a local `decnet serve` (see docs/editor.md).
    // changeOrigin: the server answers only to its own names in Host (docs/api.md).
    proxy: {
      "/api": { target: "http://127.0.0.1:8400", changeOrigin: true },
      "/healthz": { target: "http://127.0.0.1:8400", changeOrigin: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
