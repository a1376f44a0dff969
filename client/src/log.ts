/** One output channel for the language server and the commands. */
import * as vscode from 'vscode';

export class Log implements vscode.Disposable {
  readonly channel: vscode.OutputChannel;

  constructor(name = 'Kyverno Studio') {
    this.channel = vscode.window.createOutputChannel(name);
  }

  info(message: string): void {
    this.channel.appendLine(`[${new Date().toISOString()}] ${message}`);
  }

  error(message: string, err?: unknown): void {
    const detail = err instanceof Error ? (err.stack ?? err.message) : err === undefined ? '' : String(err);
    this.channel.appendLine(`[${new Date().toISOString()}] ERROR ${message}${detail ? `\n${detail}` : ''}`);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
