/**
 * Just enough XML for S3's answers (ListObjectsV2, InitiateMultipartUpload, errors): the text of
 * named elements, in document order. S3 sends flat, well-formed documents without attributes on
 * the elements read here, CDATA or comments, so a scan for `<Name>` ... `</Name>` is exact.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/** Decodes the five XML entities and numeric character references. */
export function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16))
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10))
    return ENTITIES[entity] ?? whole
  })
}

/** The raw inner XML of every `<name>` element (`<name/>` gives ''), in order. */
export function xmlElements(xml: string, name: string): string[] {
  const out: string[] = []
  const open = `<${name}`
  const close = `</${name}>`
  let from = 0
  for (;;) {
    const start = xml.indexOf(open, from)
    if (start === -1) return out
    const after = xml.charCodeAt(start + open.length)
    // `<Key` must not match `<KeyCount>`: the name ends at `>`, `/` or whitespace.
    if (after !== 62 && after !== 47 && after !== 32 && after !== 10 && after !== 13 && after !== 9) {
      from = start + open.length
      continue
    }
    const tagEnd = xml.indexOf('>', start)
    if (tagEnd === -1) return out
    if (xml[tagEnd - 1] === '/') {
      out.push('')
      from = tagEnd + 1
      continue
    }
    const end = xml.indexOf(close, tagEnd + 1)
    if (end === -1) return out
    out.push(xml.slice(tagEnd + 1, end))
    from = end + close.length
  }
}

/** The decoded text of the first `<name>` element, or undefined. */
export function xmlText(xml: string, name: string): string | undefined {
  const found = xmlElements(xml, name)[0]
  return found === undefined ? undefined : decodeXmlText(found)
}

/** Escapes text for an XML element body. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&${Object.entries(ENTITIES).find(([, value]) => value === char)![0]};`)
}
