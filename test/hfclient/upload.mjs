// Uploads files to an aigis registry with the real @huggingface/hub client
// (createRepo, then uploadFiles: preupload, LFS batch, PUT, NDJSON commit)
// and prints the commit as JSON, or the error. Used by
// registry/server/hfclient_test.go.
//
// usage: node upload.mjs HUB_URL model|dataset ORG/NAME FILE...
// Each FILE is uploaded under its base name. The token comes from HF_TOKEN.
import { createRepo, uploadFiles } from "@huggingface/hub";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";

const [hubUrl, type, name, ...paths] = process.argv.slice(2);
const accessToken = process.env.HF_TOKEN;
const repo = { type, name };
try {
  try {
    await createRepo({ repo, hubUrl, accessToken });
  } catch (e) {
    if (!String(e.message).includes("already created")) throw e;
  }
  const files = await Promise.all(
    paths.map(async (p) => ({ path: basename(p), content: new Blob([await readFile(p)]) })),
  );
  const out = await uploadFiles({ repo, files, hubUrl, accessToken, commitTitle: "upload from @huggingface/hub" });
  console.log(JSON.stringify({ ok: true, commit: out && out.commit ? out.commit.oid : "" }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e) }));
}
