/**
 * Waits until the gateway answers `GET /ready` through `dispatch` (every plugin set up), so work a
 * plugin resumes in the background (recovered jobs, batch lines) meets the same hooks as a fresh
 * request. Backs off from 20 ms to 1 s; false when `stopped()` turns true first.
 */
export async function waitForGatewayReady(dispatch: (request: Request) => Promise<Response>, stopped: () => boolean): Promise<boolean> {
  for (let delay = 20; !stopped(); delay = Math.min(delay * 2, 1_000)) {
    try {
      const response = await dispatch(new Request('http://switchyard.internal/ready'))
      await response.body?.cancel()
      if (response.status === 200) return true
    } catch {
      // Not serving yet.
    }
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
  return false
}
