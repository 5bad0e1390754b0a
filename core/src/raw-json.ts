/**
 * Edits of a caller's raw JSON body that keep every other byte as sent: the passthrough
 * path forwards the caller's text, not a re-serialization, so number spelling, key order and
 * fields the gateway does not know reach the upstream exactly as written.
 */

const isSpace = (code: number) => code === 32 || code === 9 || code === 10 || code === 13

/**
 * Replaces the value of the `"model"` member in `text` when the string `original` appears as a
 * `"model"` value exactly once; undefined when it appears never or several times (then only a
 * parse can tell which one is top level).
 */
export function spliceModel(text: string, original: string, model: string): string | undefined {
  const value = JSON.stringify(original)
  let found = -1
  let from = 0
  for (;;) {
    const at = text.indexOf('"model"', from)
    if (at === -1) break
    let i = at + 7
    while (isSpace(text.charCodeAt(i))) i++
    if (text.charCodeAt(i) === 58) {
      i++
      while (isSpace(text.charCodeAt(i))) i++
      if (text.startsWith(value, i)) {
        if (found !== -1) return undefined
        found = i
      }
    }
    from = at + 7
  }
  if (found === -1) return undefined
  return text.slice(0, found) + JSON.stringify(model) + text.slice(found + value.length)
}

/**
 * The caller's body (`raw`, parsed as `body`) with the top-level `model` set to `model`: the raw
 * text itself when the model does not change, the raw text with the value spliced in when that is
 * unambiguous, else `body` re-serialized with the new model (the same JSON value, other bytes).
 */
export function replaceModel(raw: string, body: Record<string, unknown>, model: string): string {
  const original = body.model
  if (original === model) return raw
  const spliced = typeof original === 'string' ? spliceModel(raw, original, model) : undefined
  return spliced ?? JSON.stringify({ ...body, model })
}
