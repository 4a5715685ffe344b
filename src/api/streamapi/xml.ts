/** StreamAPI's replies: XML under a `<response>` root with `<code>` first and `<msg>` on errors. */
export interface XmlElement {
  name: string;
  attributes?: Record<string, string>;
  /** Text content, or child elements. */
  content?: string | number | boolean | null | XmlElement[];
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function render(element: XmlElement, indent: string): string {
  const attributes = Object.entries(element.attributes ?? {})
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  const content = element.content;
  if (Array.isArray(content)) {
    if (content.length === 0) return `${indent}<${element.name}${attributes}/>`;
    const inner = content.map((child) => render(child, `${indent}  `)).join('\n');
    return `${indent}<${element.name}${attributes}>\n${inner}\n${indent}</${element.name}>`;
  }
  const text = content === null || content === undefined ? '' : escapeXml(String(content));
  return `${indent}<${element.name}${attributes}>${text}</${element.name}>`;
}

/** A whole reply: `<response><code>N</code>…</response>` with an XML declaration. */
export function xmlResponse(code: number, children: XmlElement[] = []): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render({ name: 'response', content: [{ name: 'code', content: code }, ...children] }, '')}\n`;
}

/** Fields as elements, in the order given. */
export function fields(values: Record<string, string | number | boolean | null>): XmlElement[] {
  return Object.entries(values).map(([name, content]) => ({ name, content }));
}
