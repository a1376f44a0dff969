/**
 * Read-only documents for results: the original and mutated resource of a diff, generated
 * resources. Virtual documents (a TextDocumentContentProvider) cannot be edited or saved,
 * which is what a preview of engine output should be.
 */
import * as vscode from 'vscode';

export const RESULT_SCHEME = 'kyverno-result';

export class ResultDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private counter = 0;

  /** Stores `text` under a fresh URI whose last segment is `name` (it names the editor tab). */
  put(name: string, text: string): vscode.Uri {
    const safe = name.replace(/[^\w.@-]+/g, '_') || 'resource.yaml';
    const uri = vscode.Uri.from({ scheme: RESULT_SCHEME, path: `/${++this.counter}/${safe}` });
    this.contents.set(uri.toString(), text);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '# This result is no longer available: run the policy again.\n';
  }

  /** Forgets old results (a new run replaces them). */
  clear(): void {
    this.contents.clear();
  }

  dispose(): void {
    this.changed.dispose();
  }
}
