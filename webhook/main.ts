// Standalone webhook entry (dist/webhook.js): the same bundle is its own evaluation worker.
import { runAsWorkerIfAsked, serveCommand } from './serve';

if (!runAsWorkerIfAsked()) {
  serveCommand(process.argv.slice(2), __filename).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`kyverno-studio serve: ${e.message}\n`);
      process.exit(1);
    },
  );
}
