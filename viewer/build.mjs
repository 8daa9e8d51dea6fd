// Bundle the viewer into the Python package (src/seganypet/server/static/), from the
// committed lock file's niivue: no CDN, nothing fetched at run time.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "seganypet", "server", "static");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  format: "esm",
  splitting: true,
  minify: true,
  sourcemap: false,
  target: ["chrome110", "firefox115", "safari16"],
  outdir: out,
  entryNames: "viewer",
  logLevel: "warning",
});
for (const name of ["index.html", "style.css"]) {
  cpSync(join(here, "src", name), join(out, name));
}
console.log(`viewer built into ${out}`);
