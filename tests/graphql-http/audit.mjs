// Usage: node audit.mjs http://127.0.0.1:8080/graphql
// Prints every audit that is not ok and a summary; exits non-zero on any error or warning.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url, fetchFn: fetch });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status]++;
  if (result.status !== 'ok') console.log(result.status, result.id, result.name, '--', result.reason);
}
console.log(JSON.stringify(counts));
process.exit(counts.error || counts.warn ? 1 : 0);
