import { checkModelName, type GeminiMethod } from '@switchyard/provider-gemini'
import type { VertexLocation } from './settings.js'

/**
 * Vertex AI URLs (https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent):
 * `https://{region}-aiplatform.googleapis.com/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:{method}`;
 * the `global` region is served at `aiplatform.googleapis.com`.
 */

/** The API root for a region: `https://{region}-aiplatform.googleapis.com/v1`, `https://aiplatform.googleapis.com/v1` for `global`. */
export function vertexBaseURL(region: string): string {
  return `https://${region === 'global' ? '' : `${region}-`}aiplatform.googleapis.com/v1`
}

/**
 * The resource path of a model: a bare name is a publisher model
 * (`projects/{p}/locations/{r}/publishers/{publisher}/models/{model}`); `publishers/...` and
 * `endpoints/...` (a tuned or deployed model) are placed under the project and location; a full
 * `projects/...` name is used as is. In express mode (no project) publisher models only:
 * `publishers/{publisher}/models/{model}`.
 */
export function vertexResource(model: string, location: VertexLocation): string {
  checkModelName(model)
  if (model.startsWith('projects/')) return model
  const scoped = model.startsWith('publishers/') || model.startsWith('endpoints/') ? model : `publishers/${location.publisher}/models/${model}`
  return location.project === undefined ? scoped : `projects/${location.project}/locations/${location.region}/${scoped}`
}

/**
 * The URL of `method` on `model`. `baseURL` (from `network_config.base_url`) replaces the
 * regional API root when set; `streamGenerateContent` gets `?alt=sse`.
 */
export function vertexModelURL(model: string, method: GeminiMethod, location: VertexLocation, baseURL = ''): string {
  const root = baseURL || vertexBaseURL(location.region)
  return `${root}/${vertexResource(model, location)}:${method}${method === 'streamGenerateContent' ? '?alt=sse' : ''}`
}

/** Methods a same-dialect (`/genai`) caller may reach on Vertex AI. */
const PASSTHROUGH_METHODS = new Set(['generateContent', 'streamGenerateContent', 'countTokens'])

/**
 * A Gemini API path below its root (`/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, as
 * the `/genai` surface forwards it) -> the Vertex AI URL of the same call; undefined for a path
 * Vertex AI does not serve (files, cached contents, embedding methods of the Gemini API).
 */
export function vertexPassthroughURL(path: string, location: VertexLocation, baseURL = ''): string | undefined {
  const match = /^\/models\/([^:?#]+):([A-Za-z]+)(\?[^#]*)?$/.exec(path)
  if (!match || !PASSTHROUGH_METHODS.has(match[2]!)) return undefined
  const root = baseURL || vertexBaseURL(location.region)
  return `${root}/${vertexResource(decodeURIComponent(match[1]!), location)}:${match[2]}${match[3] ?? ''}`
}
