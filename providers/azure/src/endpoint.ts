import { GatewayError } from '@switchyard/core'

/**
 * The `x-bf-azure-endpoint` header names the Azure resource a call goes to. Taken from the caller,
 * it is a server-side request forgery door, so before anything is sent the endpoint must:
 *
 * - be a bare origin (`scheme://host[:port]`, no user info, path, query or fragment);
 * - match one `options.endpoint_allowlist` pattern (default `https://*.openai.azure.com`,
 *   `https://*.cognitiveservices.azure.com`). A pattern is `scheme://host[:port]`: `*` stands for
 *   exactly one DNS label, a missing port means the scheme's default, `:*` any port. Only `https`
 *   matches unless a pattern itself says `http://`;
 * - not be a private, loopback, link-local, multicast or otherwise non-public address, nor a name
 *   that stays inside the network (`localhost`, `*.local`, `*.internal`, single-label names), unless
 *   `options.allow_private_endpoints` is true. IP literals are judged after WHATWG URL parsing, so
 *   `http://2130706433`, `0x7f.1` and `[::ffff:127.0.0.1]` are all seen as 127.0.0.1.
 *
 * Names are not resolved here (codecs do no I/O): a public name pointing at a private address is
 * stopped by the allowlist, which by default admits Azure's own domains only.
 */

export interface EndpointPolicy {
  allowlist: readonly string[]
  allowPrivate: boolean
}

interface Pattern {
  scheme: 'http' | 'https'
  labels: string[]
  /** undefined = the scheme's default port; '*' = any. */
  port: string | undefined
}

const PATTERN = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9*.-]+)(?::(\d{1,5}|\*))?\/?$/

/** Parses an allowlist entry, or undefined when it is not `scheme://host[:port]`. */
export function parseAllowlistPattern(pattern: string): Pattern | undefined {
  const match = PATTERN.exec(pattern.trim())
  if (!match) return undefined
  const host = match[2]!.toLowerCase()
  const labels = host.startsWith('[') ? [host] : host.split('.')
  if (labels.some((label) => label === '' || (label.includes('*') && label !== '*'))) return undefined
  return { scheme: match[1] as 'http' | 'https', labels, port: match[3] }
}

function matches(pattern: Pattern, url: URL, hostname: string): boolean {
  if (`${pattern.scheme}:` !== url.protocol) return false
  const defaultPort = pattern.scheme === 'https' ? '443' : '80'
  if (pattern.port !== '*' && (url.port || defaultPort) !== (pattern.port ?? defaultPort)) return false
  const labels = hostname.startsWith('[') ? [hostname] : hostname.split('.')
  if (labels.length !== pattern.labels.length) return false
  return pattern.labels.every((label, index) => label === '*' ? /^[a-z0-9-]+$/.test(labels[index]!) && !labels[index]!.startsWith('-') : label === labels[index])
}

const refuse = (message: string) =>
  new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param: 'x-bf-azure-endpoint', message: `[azure] x-bf-azure-endpoint ${message}`, retryable: false })

function ipv4Of(hostname: string): number[] | undefined {
  const parts = hostname.split('.')
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) return undefined
  const bytes = parts.map(Number)
  return bytes.every((byte) => byte <= 255) ? bytes : undefined
}

/** True for IPv4 addresses that are not public unicast (RFC 6890 special-purpose ranges). */
export function isNonPublicIPv4([a, b]: number[]): boolean {
  return a === 0 || a === 10 || a === 127 || a! >= 224 ||
    (a === 100 && b! >= 64 && b! <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19))
}

/** The eight 16-bit groups of an IPv6 literal (without brackets), or undefined. */
function ipv6Groups(literal: string): number[] | undefined {
  const halves = literal.split('::')
  if (halves.length > 2) return undefined
  const parse = (text: string) => (text === '' ? [] : text.split(':').map((group) => (/^[0-9a-f]{1,4}$/i.test(group) ? parseInt(group, 16) : NaN)))
  const head = parse(halves[0]!)
  const tail = halves.length === 2 ? parse(halves[1]!) : []
  const fill = 8 - head.length - tail.length
  if (halves.length === 1 ? head.length !== 8 : fill < 1) return undefined
  const groups = [...head, ...Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail]
  return groups.some(Number.isNaN) ? undefined : groups
}

/** True for IPv6 addresses that are not public unicast: loopback, unspecified, ULA, link-local, multicast, and IPv4 embedded forms of private addresses. */
export function isNonPublicIPv6(groups: number[]): boolean {
  const [first] = groups
  const embedded = () => [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff]
  if (groups.slice(0, 7).every((group) => group === 0)) return true // :: and ::1 (and the old IPv4-compatible form)
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) return isNonPublicIPv4(embedded()) // ::ffff:a.b.c.d
  if (first === 0x64 && groups[1] === 0xff9b) return isNonPublicIPv4(embedded()) // NAT64
  return (first! & 0xfe00) === 0xfc00 || (first! & 0xffc0) === 0xfe80 || (first! & 0xff00) === 0xff00 || (first === 0x2001 && groups[1] === 0x0db8)
}

const LOCAL_SUFFIXES = ['.localhost', '.local', '.internal', '.localdomain', '.home.arpa', '.lan', '.intranet']

/** True when `hostname` (as WHATWG URL serializes it) names a private, loopback or in-network place. */
export function isPrivateHost(hostname: string): boolean {
  if (hostname.startsWith('[')) {
    const groups = ipv6Groups(hostname.slice(1, -1))
    return groups === undefined || isNonPublicIPv6(groups)
  }
  const ipv4 = ipv4Of(hostname)
  if (ipv4) return isNonPublicIPv4(ipv4)
  if (hostname === 'localhost' || !hostname.includes('.')) return true
  return LOCAL_SUFFIXES.some((suffix) => hostname.endsWith(suffix))
}

/**
 * Checks a caller-named endpoint against the policy (see the module comment) and returns it as a
 * bare origin (`https://my-res.openai.azure.com`). Throws a 400 GatewayError naming the header
 * otherwise; nothing has been sent at that point.
 */
export function checkCallerEndpoint(raw: string, policy: EndpointPolicy): string {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    throw refuse('is not a URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse(`must be an https URL, not ${url.protocol.replace(':', '')}`)
  if (url.username || url.password) throw refuse('must not carry credentials')
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) throw refuse('must be the resource origin only, such as https://my-res.openai.azure.com')
  const hostname = url.hostname.replace(/\.$/, '')
  const patterns = policy.allowlist.map(parseAllowlistPattern).filter((pattern): pattern is Pattern => pattern !== undefined)
  if (!patterns.some((pattern) => matches(pattern, url, hostname))) {
    throw refuse(`${url.origin} is not allowed (allowed: ${policy.allowlist.join(', ')}; see providers.azure.options.endpoint_allowlist)`)
  }
  if (!policy.allowPrivate && isPrivateHost(hostname)) {
    throw refuse(`${url.origin} is a private, loopback or link-local address (see providers.azure.options.allow_private_endpoints)`)
  }
  return `${url.protocol}//${hostname}${url.port ? `:${url.port}` : ''}`
}
