import { createSseDecoder, formatSse, GatewayError, isLocalDialect, localizeUsage, type FinishReason, type SseEvent, type StreamEvent, type Usage } from '@switchyard/core'
import { toOpenAIErrorBody } from './errors.js'
import { toOpenAIChatUsage } from './usage.js'
import { chunkExtraOf, malformedChunkError, readOpenAISseEvent, usageOfChunk, type Json } from './wire.js'

type Emit = (event: StreamEvent) => void

/** What a chunk-stream decoder adds to {@link decodeOpenAIChunks}: the choices of each chunk, and the end. */
export interface ChunkDecoder {
  /** One JSON chunk (after `response-start` was sent for the first). Its usage is reported by the frame. */
  chunk(chunk: Json, emit: Emit): void
  /** The stream ended ([DONE] or the end of the body) after at least one chunk: close what is open, then the frame sends `finish`. */
  end(emit: Emit): void
  /** The finish reason of choice 0, once it came (`other` when it never did). */
  finishReason(): FinishReason | undefined
}

/**
 * The frame both OpenAI SSE streams share (chat completions and legacy completions): `response-start`
 * from the first chunk, `usage` per usage chunk, one `finish` (finish reason of choice 0 as the
 * decoder reports it, last usage) at [DONE] or the end of the body, an upstream error or a bad
 * chunk as one `error` event that ends the stream. The decoder turns choices into events.
 */
export function decodeOpenAIChunks(body: ReadableStream<Uint8Array>, decoder: ChunkDecoder): ReadableStream<StreamEvent> {
  let started = false
  let done = false
  let usage: Usage | undefined

  const end = (controller: TransformStreamDefaultController<StreamEvent>) => {
    done = true
    if (!started) {
      controller.enqueue({ type: 'error', error: malformedChunkError('the stream ended before any chunk') })
      return
    }
    const emit: Emit = (event) => controller.enqueue(event)
    decoder.end(emit)
    emit({ type: 'finish', finishReason: decoder.finishReason() ?? { unified: 'other', raw: undefined }, usage })
  }

  return body.pipeThrough(createSseDecoder()).pipeThrough(new TransformStream<SseEvent, StreamEvent>({
    transform(event, controller) {
      if (done) return
      const item = readOpenAISseEvent(event)
      switch (item.kind) {
        case 'chunk': {
          const emit: Emit = (out) => controller.enqueue(out)
          const chunk = item.chunk
          if (!started) {
            started = true
            const extra = chunkExtraOf(chunk)
            emit({
              type: 'response-start',
              id: typeof chunk.id === 'string' ? chunk.id : '',
              model: typeof chunk.model === 'string' ? chunk.model : '',
              ...(typeof chunk.created === 'number' && { created: chunk.created }),
              dialect: 'openai',
              ...(extra && { extra }),
            })
          }
          decoder.chunk(chunk, emit)
          const chunkUsage = usageOfChunk(chunk)
          if (chunkUsage) {
            usage = chunkUsage
            emit({ type: 'usage', usage: chunkUsage })
          }
          return
        }
        case 'done': return end(controller)
        case 'error':
          done = true
          controller.enqueue({ type: 'error', error: item.error })
          return controller.terminate()
        case 'skip': return
        default: {
          const unreachable: never = item
          return unreachable
        }
      }
    },
    flush(controller) {
      if (!done) end(controller)
    },
  }))
}

/** What a chunk renderer writes through. */
export interface ChunkWriter {
  /** Sends one chunk: the stream's `id`, `object`, `created`, `model` (and same-dialect extras), then `body`. */
  send(body: Json): void
}

/** What a stream renderer adds to {@link renderOpenAIChunks}: content events, and the choices to close at the end. */
export interface ChunkRenderer {
  /** Every event but `response-start`, `usage`, `finish` and `error`, which the frame handles. */
  event(event: Exclude<StreamEvent, { type: 'response-start' | 'usage' | 'finish' | 'error' }>, out: ChunkWriter): void
  /** The `finish` event came: send the finish chunks of the choices still open. */
  finish(event: Extract<StreamEvent, { type: 'finish' }>, out: ChunkWriter): void
}

export interface RenderChunksOptions {
  /** Chunk `id`; defaults to the id of `response-start`. */
  id?: string
  /** Model reported in every chunk. */
  model: string
  /** Chunk `object` (`chat.completion.chunk`, `text_completion`). */
  object: string
  /** The caller asked for `stream_options.include_usage`: every chunk has `usage: null`, and the usage chunk comes before [DONE]. */
  includeUsage: boolean
}

/**
 * IR events -> OpenAI SSE bytes, the frame both chunk streams share: the chunk head, the usage
 * chunk when asked, `[DONE]`; an `error` event becomes `data: {"error":{...}}` and ends the stream
 * without `[DONE]`, and so does a stream that ends without `finish`.
 */
export function renderOpenAIChunks(events: ReadableStream<StreamEvent>, options: RenderChunksOptions, renderer: ChunkRenderer): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let id = options.id
  let created = 0
  let extra: Json = {}
  let usage: Usage | undefined
  /** Dialect the events were decoded from: another dialect's extras stay off the wire. */
  let source: string | undefined
  let closed = false
  const nullUsage = options.includeUsage ? { usage: null } : {}
  const head = () => ({ id: id ?? '', object: options.object, created, model: options.model, ...extra })

  return events.pipeThrough(new TransformStream<StreamEvent, Uint8Array>({
    transform(event, controller) {
      if (closed) return
      const write = (payload: Json) => controller.enqueue(encoder.encode(formatSse(JSON.stringify(payload))))
      const out: ChunkWriter = { send: (body) => write({ ...head(), ...body, ...nullUsage }) }
      switch (event.type) {
        case 'response-start':
          id ??= event.id
          created = event.created ?? created
          source = event.dialect
          extra = isLocalDialect('openai', source) ? event.extra ?? {} : {}
          return
        case 'usage':
          usage = event.usage
          return
        case 'finish':
          usage = event.usage ?? usage
          renderer.finish(event, out)
          if (options.includeUsage && usage) write({ ...head(), choices: [], usage: toOpenAIChatUsage(localizeUsage(usage, 'openai', source)!) })
          controller.enqueue(encoder.encode('data: [DONE]\n\n'))
          closed = true
          return
        case 'error':
          closed = true
          write(toOpenAIErrorBody(event.error))
          return controller.terminate()
        default:
          return renderer.event(event, out)
      }
    },
    flush(controller) {
      if (closed) return
      const error = new GatewayError({ status: 502, code: 'upstream', message: 'the response stream ended unexpectedly' })
      controller.enqueue(encoder.encode(formatSse(JSON.stringify(toOpenAIErrorBody(error)))))
    },
  }))
}
