/**
 * A byte stream as pieces of exactly `size` bytes, the last one shorter (none for an empty
 * stream): what a multipart upload's parts and a chunked blob's chunks are cut from. Each piece is
 * a fresh array the caller may keep. Stopping early (or a failing consumer) cancels the stream.
 */
export async function* fixedChunks(stream: ReadableStream<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader()
  let buffer = new Uint8Array(size)
  let filled = 0
  let finished = false
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      let offset = 0
      while (offset < value.length) {
        const take = Math.min(value.length - offset, size - filled)
        buffer.set(value.subarray(offset, offset + take), filled)
        filled += take
        offset += take
        if (filled === size) {
          yield buffer
          buffer = new Uint8Array(size)
          filled = 0
        }
      }
    }
    finished = true
    if (filled > 0) yield buffer.slice(0, filled)
  } finally {
    if (!finished) await reader.cancel(new Error('the reader stopped before the end')).catch(() => {})
    reader.releaseLock()
  }
}
