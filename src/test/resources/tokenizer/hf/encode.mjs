// Expected ids for the tokenizer.json fixtures in this directory, from Hugging Face's own tokenizers.js.
// Run outside the repository (see README.md here): cd /tmp/tokfix && npm install @huggingface/tokenizers@0.2.0
//   && cp <this dir>/encode.mjs . && node encode.mjs <this dir>
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "fs";
import path from "path";
import zlib from "zlib";

const dir = process.argv[2] ?? ".";
const texts = JSON.parse(fs.readFileSync(path.join(dir, "texts.json"), "utf8")).texts;
const files = ["gpt2-tokenizer.json.gz", "llama3-style-tokenizer.json", "permuted-nfc-tokenizer.json"];
const out = { generated_with: "@huggingface/tokenizers@0.2.0 Tokenizer.encode (added tokens split, no BOS)",
  ids: {} };
for (const file of files) {
  let bytes = fs.readFileSync(path.join(dir, file));
  if (file.endsWith(".gz")) bytes = zlib.gunzipSync(bytes);
  const tok = new Tokenizer(JSON.parse(bytes.toString("utf8")), {});
  out.ids[file] = texts.map((t) => {
    const ids = tok.encode(t).ids;
    const want = file.includes("nfc") ? t.normalize("NFC") : t;
    if (ids.length > 0 && tok.decode(ids) !== want) {
      throw new Error(`${file}: decode(encode(${JSON.stringify(t)})) differs`);
    }
    return ids;
  });
}
fs.writeFileSync(path.join(dir, "expected-ids.json"), JSON.stringify(out, null, 0).replace(/\],\[/g, "],\n["));
