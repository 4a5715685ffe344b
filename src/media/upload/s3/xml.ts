import { S3Error, escapeXml } from './errors.js';

/** The XML bodies of the multipart operations: the part list a completion sends, and the answers. */

const NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface RequestedPart {
  partNumber: number;
  /** As sent, quotes removed. */
  etag: string;
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, entity: string) => {
    switch (entity) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: {
        const code = entity[1] === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
        // fromCodePoint throws (an internal error) for a reference that names no character.
        if (code > 0x10ffff) throw new S3Error('MalformedXML', MALFORMED);
        return String.fromCodePoint(code);
      }
    }
  });
}

const MALFORMED = 'The XML you provided was not well-formed or did not validate against our published schema.';

/**
 * `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag>…</Part>…</CompleteMultipartUpload>`:
 * the parts in the order given. Checksum elements a client adds to a part are allowed and ignored
 * (the parts' checksums were checked when they were uploaded).
 */
export function parseCompleteMultipartUpload(xml: string): RequestedPart[] {
  const body = xml.replace(/^\uFEFF?\s*(<\?xml[^>]*\?>)?\s*/, '').trim();
  const root = /^<CompleteMultipartUpload(\s[^>]*)?>([\s\S]*)<\/CompleteMultipartUpload>$/.exec(body);
  if (!root) throw new S3Error('MalformedXML', MALFORMED);
  let inner = root[2]!.trim();
  const parts: RequestedPart[] = [];
  while (inner !== '') {
    const part = /^<Part>([\s\S]*?)<\/Part>\s*/.exec(inner);
    if (!part) throw new S3Error('MalformedXML', MALFORMED);
    inner = inner.slice(part[0].length);
    const fields = new Map<string, string>();
    let rest = part[1]!.trim();
    while (rest !== '') {
      const field = /^<([A-Za-z0-9]+)>([^<]*)<\/\1>\s*/.exec(rest);
      if (!field) throw new S3Error('MalformedXML', MALFORMED);
      if (fields.has(field[1]!)) throw new S3Error('MalformedXML', MALFORMED);
      fields.set(field[1]!, unescapeXml(field[2]!).trim());
      rest = rest.slice(field[0].length);
    }
    const number = fields.get('PartNumber');
    const etag = fields.get('ETag');
    if (number === undefined || !/^\d{1,5}$/.test(number) || etag === undefined) throw new S3Error('MalformedXML', MALFORMED);
    parts.push({ partNumber: Number(number), etag: etag.replace(/^"|"$/g, '') });
  }
  if (parts.length === 0) throw new S3Error('MalformedXML', 'The XML you provided did not list any part.');
  return parts;
}

function document(root: string, fields: Record<string, string>): string {
  const inner = Object.entries(fields)
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NAMESPACE}">${inner}</${root}>`;
}

export function initiateMultipartUploadResult(bucket: string, key: string, uploadId: string): string {
  return document('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: uploadId });
}

export function completeMultipartUploadResult(location: string, bucket: string, key: string, etag: string): string {
  return document('CompleteMultipartUploadResult', { Location: location, Bucket: bucket, Key: key, ETag: etag });
}
