// Prints the closing line CI reads: "tests: N passed, N failed, N skipped", from Vitest's JSON report.
import { readFileSync } from 'node:fs';

const path = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch (err) {
  console.log(`tests: 0 passed, 1 failed (no test report: ${err.message})`);
  process.exit(1);
}
const failed = report.numFailedTests + (report.numFailedTestSuites ?? 0) - countFailedSuitesWithFailedTests(report);
const skipped = report.numPendingTests + (report.numTodoTests ?? 0);
console.log(`tests: ${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);

/** A suite that failed only because a test in it failed is already counted by its test. */
function countFailedSuitesWithFailedTests(r) {
  return r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.some((a) => a.status === 'failed')).length;
}
