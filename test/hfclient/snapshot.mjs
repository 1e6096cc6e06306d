// Downloads a repository snapshot from an aigis registry with the real
// @huggingface/hub client and prints, as JSON, the sha256 of every file it
// wrote, or the error it raised. Used by registry/server/hfclient_test.go.
//
// usage: node snapshot.mjs HUB_URL model|dataset ORG/NAME REVISION CACHE_DIR
// The token, if any, comes from HF_TOKEN.
import { snapshotDownload, modelInfo } from "@huggingface/hub";
import { createHash } from "node:crypto";
import { readdir, readFile, realpath } from "node:fs/promises";
import { join, relative } from "node:path";

const [hubUrl, type, name, revision, cacheDir] = process.argv.slice(2);
const accessToken = process.env.HF_TOKEN || undefined;
const repo = { type, name };

async function walk(dir, root, out) {
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) {
      await walk(p, root, out);
    } else {
      const data = await readFile(await realpath(p));
      out[relative(root, p)] = createHash("sha256").update(data).digest("hex");
    }
  }
  return out;
}

try {
  const info = type === "model" ? await modelInfo({ name, hubUrl, accessToken, revision, additionalFields: ["sha"] }) : null;
  const dir = await snapshotDownload({ repo, revision, cacheDir, hubUrl, accessToken });
  const files = await walk(dir, dir, {});
  console.log(JSON.stringify({ ok: true, sha: info ? info.sha : "", dir, files }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e) }));
}
