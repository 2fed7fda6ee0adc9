/** `multipart/related` bodies (RFC 2387), as googleapis sends metadata + media uploads. */
export interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

export class MultipartSyntaxError extends Error {}

export function boundaryOf(contentType: string | undefined): string | undefined {
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match?.[1] ?? match?.[2];
}

export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: MultipartPart[] = [];
  let position = body.indexOf(delimiter);
  if (position < 0) throw new MultipartSyntaxError('multipart boundary not found');
  for (;;) {
    position += delimiter.length;
    if (body.subarray(position, position + 2).toString() === '--') return parts; // close delimiter
    const lineEnd = body.indexOf('\r\n', position);
    const end = body.indexOf(nextDelimiter, lineEnd);
    if (lineEnd < 0 || end < 0) throw new MultipartSyntaxError('multipart body is not terminated');
    parts.push(parsePart(body.subarray(lineEnd + 2, end)));
    position = end + 2;
  }
}

function parsePart(part: Buffer): MultipartPart {
  const headerEnd = part.indexOf('\r\n\r\n');
  const noHeaders = part.subarray(0, 2).toString() === '\r\n';
  if (headerEnd < 0 && !noHeaders) throw new MultipartSyntaxError('multipart part without header end');
  const headerText = noHeaders ? '' : part.subarray(0, headerEnd).toString('utf8');
  const headers: Record<string, string> = {};
  for (const line of headerText.split('\r\n').filter(Boolean)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: part.subarray(noHeaders ? 2 : headerEnd + 4) };
}
