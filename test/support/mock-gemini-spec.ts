import * as v from 'valibot'

/**
 * Request-body rules of the Gemini API (generativelanguage.googleapis.com), for the mock upstream
 * to check what the gateway sends: `generateContent` / `streamGenerateContent`
 * (https://ai.google.dev/api/generate-content), `countTokens` (https://ai.google.dev/api/tokens),
 * `embedContent` / `batchEmbedContents` (https://ai.google.dev/api/embeddings), with the shapes of
 * `Content`, `Part`, `Tool`, `FunctionDeclaration`, `Schema` and `GenerationConfig` from
 * https://ai.google.dev/api/caching.
 *
 * Google publishes no schema file for it, so this one is written from that reference, covering the
 * members a gateway produces. The API reads bodies as protobuf JSON and rejects a member it does
 * not know ("Invalid JSON payload received. Unknown name ..."), so objects are strict; that is what
 * catches an OpenAPI keyword Gemini's `Schema` lacks (`additionalProperties`, `$schema`), which is
 * the classic way a translated tool declaration fails. A `Part` holds exactly one kind of data.
 */

type Json = Record<string, any>

const int = v.pipe(v.number(), v.integer())
const nonEmpty = (what: string) => v.pipe(v.string(), v.minLength(1, `${what} must be non-empty`))
const base64 = v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64'))
const struct = v.record(v.string(), v.unknown(), 'must be a JSON object')

/** `Schema`, the OpenAPI subset of function parameters and response schemas. */
const TYPES = ['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']
const Schema: v.GenericSchema = v.lazy(() =>
  v.strictObject({
    type: v.optional(v.pipe(v.string(), v.check((type) => TYPES.includes(type.toUpperCase()), `type must be one of ${TYPES.join(', ')}`))),
    format: v.optional(v.string()),
    title: v.optional(v.string()),
    description: v.optional(v.string()),
    nullable: v.optional(v.boolean()),
    enum: v.optional(v.array(v.string())),
    maxItems: v.optional(v.union([int, v.string()])),
    minItems: v.optional(v.union([int, v.string()])),
    properties: v.optional(v.record(v.string(), Schema)),
    required: v.optional(v.array(v.string())),
    minProperties: v.optional(v.union([int, v.string()])),
    maxProperties: v.optional(v.union([int, v.string()])),
    minLength: v.optional(v.union([int, v.string()])),
    maxLength: v.optional(v.union([int, v.string()])),
    pattern: v.optional(v.string()),
    example: v.optional(v.unknown()),
    anyOf: v.optional(v.array(Schema)),
    propertyOrdering: v.optional(v.array(v.string())),
    default: v.optional(v.unknown()),
    items: v.optional(Schema),
    minimum: v.optional(v.number()),
    maximum: v.optional(v.number()),
  }),
)

const FunctionCall = v.strictObject({ id: v.optional(v.string()), name: nonEmpty('functionCall.name'), args: v.optional(struct) })
const FunctionResponse = v.strictObject({
  id: v.optional(v.string()),
  name: nonEmpty('functionResponse.name'),
  response: struct,
  willContinue: v.optional(v.boolean()),
  scheduling: v.optional(v.string()),
  parts: v.optional(v.array(v.unknown())),
})

/** The data members of a `Part`: exactly one per part. */
const DATA = {
  text: v.string(),
  inlineData: v.strictObject({ mimeType: nonEmpty('inlineData.mimeType'), data: base64 }),
  functionCall: FunctionCall,
  functionResponse: FunctionResponse,
  fileData: v.strictObject({ mimeType: v.optional(v.string()), fileUri: nonEmpty('fileData.fileUri') }),
  executableCode: v.strictObject({ language: v.string(), code: v.string() }),
  codeExecutionResult: v.strictObject({ outcome: v.string(), output: v.optional(v.string()) }),
}
const DATA_KEYS = Object.keys(DATA)
const Part = v.pipe(
  v.strictObject({
    ...Object.fromEntries(Object.entries(DATA).map(([key, schema]) => [key, v.optional(schema)])),
    thought: v.optional(v.boolean()),
    thoughtSignature: v.optional(base64),
    partMetadata: v.optional(struct),
    videoMetadata: v.optional(struct),
    mediaResolution: v.optional(v.unknown()),
  }),
  v.check((part) => DATA_KEYS.filter((key) => (part as Json)[key] !== undefined).length === 1, `a part holds exactly one of ${DATA_KEYS.join(', ')}`),
)

const Content = v.strictObject({
  role: v.optional(v.picklist(['user', 'model'], 'role must be "user" or "model"')),
  parts: v.pipe(v.array(Part), v.minLength(1, 'parts must not be empty')),
})

const FunctionDeclaration = v.pipe(
  v.strictObject({
    name: v.pipe(v.string(), v.regex(/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$/, 'function names start with a letter or underscore and hold letters, digits, _ . : - (at most 128)')),
    description: v.optional(v.string()),
    behavior: v.optional(v.string()),
    parameters: v.optional(Schema),
    parametersJsonSchema: v.optional(v.unknown()),
    response: v.optional(Schema),
    responseJsonSchema: v.optional(v.unknown()),
  }),
  v.check((declaration) => declaration.parameters === undefined || declaration.parametersJsonSchema === undefined, 'parameters and parametersJsonSchema are exclusive'),
)

const Tool = v.strictObject({
  functionDeclarations: v.optional(v.array(FunctionDeclaration)),
  googleSearchRetrieval: v.optional(struct),
  codeExecution: v.optional(struct),
  googleSearch: v.optional(struct),
  urlContext: v.optional(struct),
  computerUse: v.optional(struct),
  fileSearch: v.optional(struct),
  googleMaps: v.optional(struct),
})

const ToolConfig = v.strictObject({
  functionCallingConfig: v.optional(v.strictObject({
    mode: v.optional(v.picklist(['MODE_UNSPECIFIED', 'AUTO', 'ANY', 'NONE', 'VALIDATED'])),
    allowedFunctionNames: v.optional(v.array(v.string())),
  })),
  retrievalConfig: v.optional(struct),
})

const GenerationConfig = v.strictObject({
  stopSequences: v.optional(v.pipe(v.array(v.string()), v.maxLength(5, 'at most 5 stop sequences'))),
  responseMimeType: v.optional(v.string()),
  responseSchema: v.optional(Schema),
  responseJsonSchema: v.optional(v.unknown()),
  _responseJsonSchema: v.optional(v.unknown()),
  responseModalities: v.optional(v.array(v.string())),
  candidateCount: v.optional(v.pipe(int, v.minValue(1))),
  maxOutputTokens: v.optional(v.pipe(int, v.minValue(1))),
  temperature: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(2))),
  topP: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  topK: v.optional(v.pipe(int, v.minValue(1))),
  seed: v.optional(int),
  presencePenalty: v.optional(v.number()),
  frequencyPenalty: v.optional(v.number()),
  responseLogprobs: v.optional(v.boolean()),
  logprobs: v.optional(int),
  enableEnhancedCivicAnswers: v.optional(v.boolean()),
  speechConfig: v.optional(struct),
  thinkingConfig: v.optional(v.strictObject({
    includeThoughts: v.optional(v.boolean()),
    thinkingBudget: v.optional(int),
    thinkingLevel: v.optional(v.string()),
  })),
  imageConfig: v.optional(struct),
  mediaResolution: v.optional(v.string()),
})

const SafetySetting = v.strictObject({ category: v.string(), threshold: v.string() })

const generateContentEntries = {
  model: v.optional(v.string()),
  contents: v.pipe(v.array(Content), v.minLength(1, 'contents is not specified')),
  tools: v.optional(v.array(Tool)),
  toolConfig: v.optional(ToolConfig),
  safetySettings: v.optional(v.array(SafetySetting)),
  systemInstruction: v.optional(Content),
  generationConfig: v.optional(GenerationConfig),
  cachedContent: v.optional(v.string()),
}
const GenerateContentRequest = v.strictObject(generateContentEntries)

const CountTokensRequest = v.pipe(
  v.strictObject({
    contents: v.optional(v.array(Content)),
    generateContentRequest: v.optional(v.strictObject({ ...generateContentEntries, model: nonEmpty('generateContentRequest.model') })),
  }),
  v.check((body) => (body.contents === undefined) !== (body.generateContentRequest === undefined), 'give exactly one of contents and generateContentRequest'),
)

const EmbedContentEntries = {
  model: v.optional(v.string()),
  content: v.strictObject({ role: v.optional(v.string()), parts: v.pipe(v.array(v.strictObject({ text: v.string('only text parts can be embedded') })), v.minLength(1, 'parts must not be empty')) }),
  taskType: v.optional(v.picklist(['TASK_TYPE_UNSPECIFIED', 'RETRIEVAL_QUERY', 'RETRIEVAL_DOCUMENT', 'SEMANTIC_SIMILARITY', 'CLASSIFICATION', 'CLUSTERING', 'QUESTION_ANSWERING', 'FACT_VERIFICATION', 'CODE_RETRIEVAL_QUERY'])),
  title: v.optional(v.string()),
  outputDimensionality: v.optional(v.pipe(int, v.minValue(1))),
}
const EmbedContentRequest = v.strictObject(EmbedContentEntries)
const BatchEmbedContentsRequest = v.strictObject({
  requests: v.pipe(v.array(v.strictObject({ ...EmbedContentEntries, model: nonEmpty('requests[].model') })), v.minLength(1, 'requests must not be empty')),
})

/** The model-resource methods the mock knows. */
export type GeminiRpc = 'generateContent' | 'streamGenerateContent' | 'countTokens' | 'embedContent' | 'batchEmbedContents'

const SCHEMAS: Record<GeminiRpc, v.GenericSchema> = {
  generateContent: GenerateContentRequest,
  streamGenerateContent: GenerateContentRequest,
  countTokens: CountTokensRequest,
  embedContent: EmbedContentRequest,
  batchEmbedContents: BatchEmbedContentsRequest,
}

function pathOf(issue: v.BaseIssue<unknown>): string {
  let path = ''
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key
    path += typeof key === 'number' ? `[${key}]` : path ? `.${String(key)}` : String(key)
  }
  return path || '(body)'
}

/** Rules across members: function responses answer calls; the batch names the model of the URL. */
function crossFieldErrors(rpc: GeminiRpc, body: Json, model: string): string[] {
  const errors: string[] = []
  if (rpc === 'batchEmbedContents') {
    body.requests.forEach((request: Json, index: number) => {
      if (request.model !== `models/${model}`) errors.push(`requests[${index}].model: "${request.model}" is not the model of the URL (models/${model})`)
    })
  }
  if (rpc === 'embedContent' && body.model !== undefined && body.model !== `models/${model}`) errors.push(`model: "${body.model}" is not the model of the URL (models/${model})`)
  const generate = rpc === 'countTokens' ? body.generateContentRequest : rpc === 'generateContent' || rpc === 'streamGenerateContent' ? body : undefined
  if (generate?.model !== undefined && generate.model !== `models/${model}`) errors.push(`model: "${generate.model}" is not the model of the URL (models/${model})`)
  const contents: Json[] = generate?.contents ?? []
  contents.forEach((content, index) => {
    const responses = content.parts.filter((part: Json) => part.functionResponse !== undefined)
    if (responses.length === 0) return
    if (content.role === 'model') errors.push(`contents[${index}]: function responses come from the user side`)
    const previous = contents[index - 1]
    const called = new Set((previous?.role === 'model' ? previous.parts : []).filter((part: Json) => part.functionCall !== undefined).map((part: Json) => part.functionCall.name))
    for (const part of responses) if (!called.has(part.functionResponse.name)) errors.push(`contents[${index}]: functionResponse "${part.functionResponse.name}" answers no functionCall of the turn before`)
  })
  const declared = new Set<string>()
  for (const tool of generate?.tools ?? []) for (const declaration of tool.functionDeclarations ?? []) declared.add(declaration.name)
  const allowed: string[] = generate?.toolConfig?.functionCallingConfig?.allowedFunctionNames ?? []
  for (const name of allowed) if (!declared.has(name)) errors.push(`toolConfig.functionCallingConfig.allowedFunctionNames: no function named ${name}`)
  return errors
}

/** Violations of the Gemini API rules for `rpc` on `model` (the name in the URL); empty = valid. */
export function validateGeminiRequest(rpc: GeminiRpc, body: unknown, model: string): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['(body): must be a JSON object']
  const result = v.safeParse(SCHEMAS[rpc], body)
  if (!result.success) return [...new Set(result.issues.map((issue) => `${pathOf(issue)}: ${issue.message}`))].slice(0, 20)
  return crossFieldErrors(rpc, body as Json, model)
}
