// Expected ids of cl100k_base and o200k_base for texts.json, from js-tiktoken (npm), for TiktokenEncodingsTest.
// Run: cd /tmp/tokfix && npm install js-tiktoken@1.0.21 && cp <this dir>/tiktoken.mjs . && node tiktoken.mjs <this dir>
import { getEncoding } from "js-tiktoken";
import fs from "fs";
import path from "path";

const dir = process.argv[2] ?? ".";
const texts = JSON.parse(fs.readFileSync(path.join(dir, "texts.json"), "utf8")).texts;
const out = { generated_with: "js-tiktoken@1.0.21 encode(text, 'all') (special tokens become ids)", ids: {} };
for (const name of ["cl100k_base", "o200k_base"]) {
  const enc = getEncoding(name);
  out.ids[name] = texts.map((t) => enc.encode(t, "all"));
}
fs.writeFileSync(path.join(dir, "tiktoken-ids.json"), JSON.stringify(out, null, 0).replace(/\],\[/g, "],\n["));
