/**
 * A scan worker (Node worker thread, bundled as dist/scan-worker.js): parses the workspace
 * files the scan hands it, with the index's own code (`scan-entry.ts`), and answers with what
 * each contributes as plain data, unless the scan withdrew the file first. See scan-workers.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { entryOfText, toCached } from './scan-entry';
import { CLAIM_FREE, CLAIM_WORKER, type ScanReply, type ScanRequest, type ScanWorkerData } from './scan-workers';

const shared = (workerData as ScanWorkerData | undefined)?.claims;
const claims = shared ? new Int32Array(shared) : undefined;

parentPort?.on('message', (m: ScanRequest) => {
  // The scan took the file back to parse it itself: it expects no answer.
  if (claims && m.claim >= 0 && Atomics.compareExchange(claims, m.claim, CLAIM_FREE, CLAIM_WORKER) !== CLAIM_FREE) return;
  let reply: ScanReply;
  try {
    reply = { id: m.id, entry: toCached(entryOfText(m.uri, m.text)) };
  } catch (e) {
    reply = { id: m.id, error: String((e as Error)?.message ?? e) };
  }
  parentPort!.postMessage(reply);
});
