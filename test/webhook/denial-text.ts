/**
 * Reads Kyverno's denial text back as go-yaml would (a long message is folded past column 80,
 * quoted where it must be): the same header, then each policy's rules one per line, unfolded, so
 * a test can match a whole message whatever its length.
 */
import { parse } from 'yaml';

const HEADER_END = ' was blocked due to the following policies \n\n';

export function unfoldedDenial(message: string): string {
  const at = message.indexOf(HEADER_END);
  if (at < 0) return message;
  const policies = parse(message.slice(at + HEADER_END.length)) as Record<string, Record<string, string>>;
  const lines = Object.entries(policies).flatMap(([policy, rules]) => [`${policy}:`, ...Object.entries(rules).map(([rule, text]) => `  ${rule}: ${text}`)]);
  return `${message.slice(0, at + HEADER_END.length)}${lines.join('\n')}\n`;
}
