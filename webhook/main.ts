// Standalone webhook entry (dist/webhook.js): the same bundle, forked, is a server process.
import { runAsServerProcessIfAsked, serveCommand } from './serve';

if (!runAsServerProcessIfAsked()) {
  serveCommand(process.argv.slice(2), __filename).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`kyverno-studio serve: ${e.message}\n`);
      process.exit(1);
    },
  );
}
