/**
 * A scan worker (Node worker thread, bundled as dist/scan-worker.js): parses the workspace
 * files the scan hands it, with the index's own code (`scan-entry.ts`), and answers with what
 * each contributes as plain data. See scan-workers.ts.
 */
import { parentPort } from 'node:worker_threads';
import { entryOfText, toCached } from './scan-entry';
import type { ScanReply, ScanRequest } from './scan-workers';

parentPort?.on('message', (m: ScanRequest) => {
  let reply: ScanReply;
  try {
    reply = { id: m.id, entry: toCached(entryOfText(m.uri, m.text)) };
  } catch (e) {
    reply = { id: m.id, error: String((e as Error)?.message ?? e) };
  }
  parentPort!.postMessage(reply);
});
