/**
 * Entry point for the restricted-mode suite: the extension host of a code-server whose
 * workspace is NOT trusted (run by restricted.sh) loads it through `extensionTestsPath`.
 */
import Mocha from 'mocha';
import { join } from 'node:path';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60000, reporter: 'spec' });
  mocha.addFile(join(__dirname, 'restricted.test.js'));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures ? reject(new Error(`${failures} restricted-mode test(s) failed`)) : resolve()));
  });
}
