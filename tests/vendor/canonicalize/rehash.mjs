// Re-derive each entry of an ftgate proof bundle with an RFC 8785 implementation that is not ftgate's:
// the leaf is the JCS bytes of the entry's fields but entry_hash, leaf and inclusion_proof, and its
// SHA-256 is the entry hash (audit/README.md, "Leaf formats"). Prints one JSON line per entry.
//   node rehash.mjs bundle.json
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import canonicalize from './canonicalize.js';

const bundle = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const entry of bundle.entries) {
  const fields = { ...entry };
  delete fields.entry_hash;
  delete fields.leaf;
  delete fields.inclusion_proof;
  const bytes = Buffer.from(canonicalize(fields), 'utf8');
  console.log(JSON.stringify({
    seq: entry.seq,
    format: entry.format,
    leaf_matches: bytes.equals(Buffer.from(entry.leaf, 'base64')),
    hash_matches: createHash('sha256').update(bytes).digest('hex') === entry.entry_hash,
  }));
}
